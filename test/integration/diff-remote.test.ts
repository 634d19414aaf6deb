/**
 * The preview against a remote target, end to end: a real sshd on 127.0.0.1 is the target, and its "running
 * system" is the fixture's run/current-system in the fixture's private Nix store. The store's location reaches the
 * remote nix the way a real deployment would carry environment: explicitly on the remote command line (`env
 * NAME=value`, quoted with shellJoin) for the core calls, and through ssh's SetEnv (NIX_SSHOPTS) for the CLI.
 *
 * What the target says must equal what the local readers say about the same store paths, and the diff of a local
 * system against the remote running one must equal the local-only diff of the same pair.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { run as cli } from '../../src/cli/commands/diff';
import type { CliIO } from '../../src/cli/io';
import { runChecked } from '../../src/core/exec/process';
import {
  diffSystems,
  previewRemoteSwitch,
  readClosures,
  readRemoteSystem,
  readSystemInfo,
  type GenerationDiff,
  type SystemFacts,
} from '../../src/core/diff';
import type { Target } from '../../src/core/safeswitch';
import { buildFixture, type NixFixture } from '../fixtures/fixture';
import { startSshd, type TestSshd } from '../lib/sshd';

function withoutHost(diff: GenerationDiff): GenerationDiff {
  return { ...diff, from: { ...diff.from, host: null }, to: { ...diff.to, host: null } };
}

/** A port with a listener that accepts and never says anything (a hung host). */
function silentListener(): Promise<{ port: number; close: () => void }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => sockets.push(s));
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => {
          for (const s of sockets) s.destroy();
          server.close();
        },
      }),
    ),
  );
}

/** A port nobody listens on. */
async function closedPort(): Promise<number> {
  const { port, close } = await silentListener();
  close();
  return port;
}

describe('diff against a remote target (real sshd on 127.0.0.1, fixture store)', function () {
  this.timeout(120_000);
  let fx: NixFixture;
  let sshd: TestSshd;
  let target: Target;
  let work: string;
  let running: string;
  const top = (n: number): string => fx.manifest.find((r) => r.generation === n)!.toplevel;

  before(async () => {
    [fx, sshd] = await Promise.all([buildFixture({ generations: 9 }), startSshd()]);
    target = { kind: 'ssh', host: sshd.destination, port: sshd.port, sshArgs: sshd.clientArgs };
    work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-diff-remote-')));
    running = fs.realpathSync(path.join(fx.runDir, 'current-system'));
  });

  after(async () => {
    await sshd?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  async function localFacts(storePath: string): Promise<SystemFacts> {
    const [info, [closure]] = await Promise.all([
      readSystemInfo(storePath),
      readClosures([storePath], { env: fx.env }),
    ]);
    return { info, closure: closure! };
  }

  function assertSameFacts(remote: SystemFacts, local: SystemFacts): void {
    assert.equal(remote.info.host, sshd.destination, 'the remote side is named by its host');
    assert.deepEqual({ ...remote.info, host: null }, local.info);
    assert.equal(remote.closure.root, local.closure.root);
    assert.equal(remote.closure.size, local.closure.size);
    assert.deepEqual([...remote.closure.paths].sort(), [...local.closure.paths].sort());
  }

  it("reads the target's running system: the same facts and closure as the local readers", async () => {
    const remote = await readRemoteSystem(target, { runDir: fx.runDir, env: fx.nixVars });
    assert.equal(remote.info.storePath, running);
    assert.ok(remote.closure.paths.size > 10, 'a real closure');
    assert.ok(remote.info.kernelVersion && remote.info.label && remote.info.kernel, 'kernel and label were read');
    assertSameFacts(remote, await localFacts(running));
    // an older generation with a configuration.nix (stateVersion) and another kernel, read by path
    const old = await readRemoteSystem(target, { systemPath: `${fx.profile}-3-link`, env: fx.nixVars });
    assert.equal(old.info.stateVersion, '23.11');
    assertSameFacts(old, await localFacts(top(3)));
  });

  it('falls back to nix-store -qR and --size when the nix command fails on the target', async () => {
    const bin = path.join(work, 'nix without path-info');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'nix'), '#!/bin/sh\necho "nix: this one is broken" >&2\nexit 1\n', { mode: 0o755 });
    fs.symlinkSync('/usr/bin/nix-store', path.join(bin, 'nix-store'));
    const remote = await readRemoteSystem(target, { runDir: fx.runDir, env: fx.nixVars, nix: path.join(bin, 'nix') });
    assertSameFacts(remote, await localFacts(running));
  });

  it('the diff of a local system against the remote running one equals the local-only diff', async () => {
    const remote = await readRemoteSystem(target, { runDir: fx.runDir, env: fx.nixVars });
    for (const n of [4, 7]) {
      const mixed = await diffSystems(remote, top(n), { env: fx.env, generations: { to: n } });
      const local = await diffSystems(running, top(n), { env: fx.env, generations: { to: n } });
      assert.equal(mixed.from.host, sshd.destination);
      assert.ok(mixed.closure.packages.length > 0, 'the pair differs');
      assert.deepEqual(withoutHost(mixed), local);
    }
  });

  it('runs dry-activate of the new system on the target and parses it', async () => {
    const log = path.join(work, 'stc.log');
    const env = { ...fx.nixVars, NIXOS_FIXTURE_STC_LOG: log };
    const remote = await readRemoteSystem(target, { runDir: fx.runDir, env: fx.nixVars });
    const diff = await diffSystems(remote, top(8), {
      env: fx.env,
      runDryActivate: true,
      target,
      elevate: [],
      targetEnv: env,
    });
    assert.deepEqual(diff.warnings, []);
    assert.ok(diff.units, 'units were parsed');
    assert.deepEqual(diff.units.other, [`switch-to-configuration: dry-activate (${top(8)})`]);
    assert.deepEqual(
      fs
        .readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' ').slice(1)),
      [[top(8), 'dry-activate']],
      'the fixture recorded exactly one dry-activate of the new system',
    );
    const failing = await diffSystems(remote, top(8), {
      env: fx.env,
      runDryActivate: true,
      target,
      targetEnv: { ...env, NIXOS_FIXTURE_STC_EXIT: '3' },
    });
    assert.equal(failing.units, null);
    assert.match(
      failing.warnings.join('\n'),
      /^dry-activate on .*@127\.0\.0\.1 exited with 3: switch-to-configuration/,
    );
  });

  it('nixos-generations diff --target-host HOST B gives the local-only diff, with NIX_SSHOPTS', async () => {
    // the store's location travels with ssh's SendEnv (the test sshd accepts NIX_*_DIR)
    const sshOpts = [...sshd.clientArgs, '-p', String(sshd.port), '-o', 'SendEnv=NIX_*'];
    const env = { ...fx.env, NIX_SSHOPTS: sshOpts.join(' ') };
    let out = '';
    let err = '';
    const io: CliIO = { out: (t) => (out += t), err: (t) => (err += t), cwd: process.cwd(), env };
    const code = await cli(
      ['--target-host', sshd.destination, '5', '--profile', fx.profile, '--run-dir', fx.runDir, '--json'],
      io,
    );
    assert.equal(code, 0, err);
    const diff = JSON.parse(out) as GenerationDiff;
    assert.equal(diff.from.host, sshd.destination);
    assert.equal(diff.to.generation, 5);
    const local = await diffSystems(running, top(5), { env: fx.env, generations: { to: 5 } });
    assert.deepEqual(withoutHost(diff), JSON.parse(JSON.stringify(local)));
    out = '';
    assert.equal(
      await cli(['--target-host', sshd.destination, '5', '--profile', fx.profile, '--run-dir', fx.runDir], io),
      0,
    );
    assert.match(out, new RegExp(`^From: the running system of ${sshd.destination.replace(/\./g, '\\.')}: /`));
  });

  it('previews a remote switch: running system read, closure copied (real nix-copy-closure), dry-activate there', async () => {
    const log = path.join(work, 'stc-preview.log');
    const steps: string[] = [];
    const sshOpts = [...sshd.clientArgs, '-p', String(sshd.port), '-o', 'SendEnv=NIX_*'];
    const preview = await previewRemoteSwitch(target, top(7), {
      runDir: fx.runDir,
      env: { ...fx.nixVars, NIXOS_FIXTURE_STC_LOG: log },
      localEnv: fx.env,
      generation: 7,
      elevate: [],
      copy: async () => {
        steps.push(`copy (dry-activated before: ${fs.existsSync(log)})`);
        await runChecked(['nix-copy-closure', '--to', sshd.destination, top(7)], {
          baseEnv: { ...fx.env, NIX_SSHOPTS: sshOpts.join(' ') },
          timeoutMs: 60_000,
        });
      },
      onStep: (step) => steps.push(step),
    });
    assert.equal(preview.problem, null);
    assert.equal(preview.copied, true);
    assert.deepEqual(steps, ['reading', 'copying', 'copy (dry-activated before: false)', 'comparing']);
    assert.ok(preview.diff);
    assert.equal(preview.diff.from.host, sshd.destination);
    assert.deepEqual(preview.diff.units?.other, [`switch-to-configuration: dry-activate (${top(7)})`]);
    const local = await diffSystems(running, top(7), { env: fx.env, generations: { to: 7 } });
    assert.deepEqual({ ...withoutHost(preview.diff), units: null }, local);
    // an unreachable target: no preview, the reason, and nothing copied
    const port = await closedPort();
    let copiedAnyway = false;
    const none = await previewRemoteSwitch({ ...target, port } as Target, top(7), {
      runDir: fx.runDir,
      copy: async () => {
        copiedAnyway = true;
      },
    });
    assert.equal(none.diff, null);
    assert.equal(copiedAnyway, false);
    assert.match(none.problem ?? '', /cannot reach .* over ssh/);
  });

  it('an unreachable target gives a clear error', async () => {
    const port = await closedPort();
    await assert.rejects(
      readRemoteSystem({ ...target, port } as Target, { runDir: fx.runDir, env: fx.nixVars, timeoutMs: 20_000 }),
      /cannot reach .*@127\.0\.0\.1 over ssh: .*Connection refused/,
    );
  });

  it('a target that accepts but never answers gives a clear error at the timeout, not a hang', async () => {
    const silent = await silentListener();
    try {
      await assert.rejects(
        readRemoteSystem({ ...target, port: silent.port } as Target, { runDir: fx.runDir, timeoutMs: 2_000 }),
        /did not answer within 2 s/,
      );
    } finally {
      silent.close();
    }
  });

  it('a target without nix, or without the system, gives a clear error', async () => {
    // a PATH holding the tools of a minimal POSIX system, and no nix
    const bin = path.join(work, 'no-nix-bin');
    fs.mkdirSync(bin);
    for (const tool of ['sh', 'head', 'readlink', 'ls', 'xargs', 'env']) {
      const real = ['/bin', '/usr/bin'].map((d) => path.join(d, tool)).find((p) => fs.existsSync(p))!;
      fs.symlinkSync(real, path.join(bin, tool));
    }
    await assert.rejects(
      readRemoteSystem(target, { runDir: fx.runDir, env: { ...fx.nixVars, PATH: bin } }),
      /on .*@127\.0\.0\.1: nix is not installed on the target: neither nix nor nix-store is on its PATH/,
    );
    await assert.rejects(
      readRemoteSystem(target, { runDir: path.join(work, 'no such run dir'), env: fx.nixVars }),
      /no such run dir\/current-system does not exist on the target or is not a directory/,
    );
    // a directory that is not in the store
    fs.mkdirSync(path.join(work, 'plain', 'current-system'), { recursive: true });
    await assert.rejects(
      readRemoteSystem(target, { runDir: path.join(work, 'plain'), env: fx.nixVars }),
      /nix-store -qR .*plain\/current-system failed: error: path .* is not in the Nix store/,
    );
  });

  it('refuses hostile host strings and carries hostile paths as exact words', async () => {
    const marker = path.join(work, 'pwned');
    const relative = ['nixgen-pwned', path.join(os.homedir(), 'nixgen-pwned'), path.join(work, 'nixgen-pwned')];
    for (const host of [`-oProxyCommand=touch ${marker}`, `h; touch ${marker}`, 'a\nb', ' ', '']) {
      await assert.rejects(readRemoteSystem({ kind: 'ssh', host }), /target host/);
      const io: CliIO = { out: () => undefined, err: () => undefined, cwd: process.cwd(), env: fx.env };
      await assert.rejects(cli(['--target-host', host, '5'], io), /target host/);
    }
    // a run dir whose name holds quotes, $(...), ; and a newline: read as one word on the target
    const hostile = path.join(work, `run '$(touch nixgen-pwned)'; "\`touch nixgen-pwned\`" $HOME\nx`);
    fs.mkdirSync(hostile);
    fs.symlinkSync(running, path.join(hostile, 'current-system'));
    const remote = await readRemoteSystem(target, { runDir: hostile, env: fx.nixVars });
    assert.equal(remote.info.storePath, running);
    assert.equal(fs.existsSync(marker), false, 'nothing was executed');
    for (const p of relative) assert.equal(fs.existsSync(p), false, `nothing was executed (${p})`);
  });
});

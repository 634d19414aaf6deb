/**
 * `nixos-generations list --target-host` against real machines (systemd as PID 1, sshd, each its own system profile
 * of NixOS-shaped generations): the remote JSON carries the same fields and values as a local list of the same
 * profile; several machines are listed side by side; a stopped machine and one that accepts TCP but never speaks
 * ssh are listed as unreachable with the reason, after the machines that answered.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { runProcess, type RunResult } from '../../src/core/exec/process';
import { buildFleetSystems, fleetBinds, installFleetProfile, makeFleetProfile } from '../lib/fleet';
import { bootMachines, PROJECT_ROOT, stopMachines, type Machine } from '../lib/machines';

const CLI = path.join(PROJECT_ROOT, 'out', 'src', 'cli', 'main.js');

describe('list --target-host on real machines', function () {
  this.timeout(180_000);
  const names = ['lalpha', 'lbeta', 'lgamma'];
  // alpha runs the first of three commits, beta a dirty tree, gamma records none
  let revs: Array<string | null> = [];
  let repo = '';
  let machines: Machine[] = [];
  let work = '';
  const profiles: Record<string, string> = {};

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-fleet-list-'));
    repo = path.join(work, 'flake');
    fs.mkdirSync(repo);
    const git = (...a: string[]): string =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.org', ...a], {
        cwd: repo,
        encoding: 'utf8',
      }).trim();
    git('init', '-q');
    const commits: string[] = [];
    for (const n of [1, 2, 3]) {
      fs.writeFileSync(path.join(repo, 'flake.nix'), `{ outputs = _: { n = ${n}; }; }\n`);
      git('add', '.');
      git('commit', '-q', '-m', `commit ${n}`);
      commits.push(git('rev-parse', 'HEAD'));
    }
    revs = [commits[0]!, 'dirty', null];
    const specs = names.flatMap((host, i) => [
      { host, n: 1, release: '24.05' as const, address: `10.99.${i + 11}.2/24` },
      { host, n: 2, address: `10.99.${i + 11}.2/24`, rev: revs[i] ?? null },
    ]);
    const paths = buildFleetSystems(specs);
    names.forEach((host, i) => {
      profiles[host] = makeFleetProfile(path.join(work, host), paths.slice(i * 2, i * 2 + 2));
    });
    machines = await bootMachines(names.map((name, i) => ({ name, idx: i + 11, binds: fleetBinds(profiles[name]!) })));
    for (const m of machines) await installFleetProfile(m);
  });

  after(async () => {
    await stopMachines(machines);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const cli = (args: string[], m: Machine): Promise<RunResult> =>
    runProcess([process.execPath, CLI, 'list', ...args], {
      env: { NIX_SSHOPTS: m.sshOpts, NIX_CONFIG: 'build-users-group =' },
      timeoutMs: 60_000,
    });

  it('gives the same JSON as a local list of the same profile', async () => {
    for (const [i, m] of machines.entries()) {
      const remote = await cli(['--target-host', m.destination, '--json', '--closure-size'], m);
      assert.equal(remote.exitCode, 0, remote.stderr);
      // the local list of the profile the machine has, with run links where the machine has them
      const runDir = path.join(work, `${m.name}-run`);
      fs.mkdirSync(runDir, { recursive: true });
      const current = fs.realpathSync(path.join(profiles[m.name]!, 'system'));
      for (const l of ['current-system', 'booted-system']) {
        fs.rmSync(path.join(runDir, l), { force: true });
        fs.symlinkSync(current, path.join(runDir, l));
      }
      const local = await cli(
        [
          '--profile',
          path.join(profiles[m.name]!, 'system'),
          '--run-dir',
          runDir,
          '--json',
          '--closure-size',
          '--no-cache',
        ],
        m,
      );
      assert.equal(local.exitCode, 0, local.stderr);
      const a = JSON.parse(remote.stdout) as Array<Record<string, unknown>>;
      const b = JSON.parse(local.stdout) as Array<Record<string, unknown>>;
      assert.equal(a.length, 2);
      assert.deepEqual(Object.keys(a[0]!).sort(), Object.keys(b[0]!).sort(), 'the same fields');
      for (const row of a) assert.equal(row['profile'], '/nix/var/nix/profiles/system');
      const strip = (rows: Array<Record<string, unknown>>): unknown[] => rows.map(({ profile: _p, ...rest }) => rest);
      assert.deepEqual(strip(a), strip(b));
      assert.equal(a[0]!['activated'], true);
      assert.equal(a[0]!['current'], true);
      assert.equal(a[1]!['activated'], false);
      assert.equal(a[0]!['configurationRevision'], revs[i] ?? null);
      assert.equal(a[0]!['kernelVersion'], '6.6.66');
      assert.equal(a[1]!['kernelVersion'], '6.6.41');
      assert.ok(typeof a[0]!['closureSize'] === 'number' && (a[0]!['closureSize'] as number) > 0);
    }
  });

  it('says how far each machine is from HEAD, and sums up the fleet', async () => {
    const r = await runProcess(
      [
        process.execPath,
        CLI,
        'list',
        '--drift',
        '--repo',
        repo,
        ...machines.flatMap((m) => ['--target-host', m.destination]),
      ],
      { env: { NIX_SSHOPTS: machines[0]!.sshOpts }, timeoutMs: 60_000 },
    );
    assert.equal(r.exitCode, 0, r.stderr);
    const block = (m: Machine): string => r.stdout.slice(r.stdout.indexOf(`${m.destination} (`)).split('\n\n\n')[0]!;
    assert.match(block(machines[0]!), /drift: 2 commits behind/);
    assert.match(block(machines[1]!), /drift: runs a dirty tree/);
    assert.match(block(machines[2]!), /drift: unknown \(no revision recorded: pin it\)/);
    assert.match(
      r.stdout,
      /^fleet: 3 machines: 1 2 commits behind, 1 runs a dirty tree, 1 unknown \(no revision recorded: pin it\)$/m,
    );
  });

  it('lists every machine side by side; dead and mute machines are unreachable with a reason, after the others', async () => {
    // accepts TCP and never sends an ssh banner: a hung machine
    const mute = net.createServer(() => undefined);
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const port = (mute.address() as net.AddressInfo).port;
    const gone = machines[2]!;
    await gone.stop();
    try {
      const r = await cli(
        [
          '--target-host',
          machines[0]!.destination,
          '--target-host',
          `ssh://root@127.0.0.1:${port}`,
          '--target-host',
          machines[1]!.destination,
          '--target-host',
          gone.destination,
          '--timeout',
          '4',
        ],
        machines[0]!,
      );
      assert.equal(r.exitCode, 1);
      assert.match(
        r.stdout,
        new RegExp(`^${machines[0]!.destination} \\(lalpha\\): system: /nix/var/nix/profiles/system`, 'm'),
      );
      assert.match(r.stdout, new RegExp(`^${machines[1]!.destination} \\(lbeta\\): system:`, 'm'));
      assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${port}: unreachable: no answer within 4 s`));
      assert.match(r.stderr, new RegExp(`${gone.destination.replace(/\./g, '\\.')}: unreachable: \\S`));
    } finally {
      mute.close();
    }
  });
});

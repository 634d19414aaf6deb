/**
 * nixos-rebuild command lines run for real against the fake nixos-rebuild, sudo, doas and nom on PATH, which record
 * their argv as JSON: the flavor is detected from the program's own --help, hostile values arrive byte for byte,
 * and the nom pipeline keeps nixos-rebuild's exit code.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runProcess } from '../../src/core/exec/process';
import { buildRebuildArgv, nomPipeline, probeRebuildFlavor } from '../../src/core/deploy/rebuild';
import { repoRoot } from '../fixtures/fixture';

const FAKE_BIN = path.join(repoRoot(), 'test', 'fixtures', 'fake-bin');
const HOSTILE_FLAKE = `/home/me/conf it's "x" $(touch PWNED); \`id\` & y\nz`;
const HOSTILE_HOST = `box;rm -rf ~ 'q'`;
/** A target host with shell syntax that ssh still takes as a host (no whitespace, no leading `-`). */
const HOSTILE_TARGET = `root@box;rm$(id)'q'`;

describe('nixos-rebuild through fake programs on PATH', function () {
  this.timeout(60000);
  let dir: string;
  let log: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-rebuild-'));
    log = path.join(dir, 'calls.jsonl');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const env = (extra: Record<string, string> = {}) => ({
    PATH: `${FAKE_BIN}:${process.env.PATH}`,
    NIXGEN_FAKE_LOG: log,
    ...extra,
  });
  const calls = () =>
    fs.existsSync(log)
      ? fs
          .readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { prog: string; argv: string[]; command?: string[]; stdinBytes?: number })
      : [];

  it('detects the flavor from --help of the installed program', async () => {
    const program = path.join(FAKE_BIN, 'nixos-rebuild');
    const ng = await probeRebuildFlavor(program, env({ NIXGEN_FAKE_REBUILD_FLAVOR: 'ng' }));
    assert.deepEqual(ng.flavor, { ng: true, sudoFlag: '--sudo' });
    const legacy = await probeRebuildFlavor(program, env({ NIXGEN_FAKE_REBUILD_FLAVOR: 'legacy' }));
    assert.deepEqual(legacy.flavor, { ng: false, sudoFlag: '--use-remote-sudo' });
    const both = await probeRebuildFlavor(program, env({ NIXGEN_FAKE_REBUILD_FLAVOR: 'legacy-sudo' }));
    assert.deepEqual(both.flavor, { ng: false, sudoFlag: '--sudo' });
    const missing = await probeRebuildFlavor(path.join(dir, 'no-such-program'));
    assert.match(missing.note ?? '', /could not be run/);
    assert.equal(missing.flavor.sudoFlag, '--use-remote-sudo');
  });

  it('passes hostile flake paths, hosts and extra arguments exactly (sudo flag)', async () => {
    const program = path.join(FAKE_BIN, 'nixos-rebuild');
    const { flavor } = await probeRebuildFlavor(program, env({ NIXGEN_FAKE_REBUILD_FLAVOR: 'ng' }));
    const { argv } = buildRebuildArgv({
      program,
      action: 'switch',
      flake: HOSTILE_FLAKE,
      host: HOSTILE_HOST,
      targetHost: HOSTILE_TARGET,
      elevation: 'sudo',
      flavor,
      extraArgs: ['--option', 'substituters', '$(id)', ''],
    });
    const r = await runProcess(argv, { env: env(), cwd: dir });
    assert.equal(r.exitCode, 0, r.stderr);
    const rebuild = calls().filter((c) => c.prog === 'nixos-rebuild' && !c.argv.includes('--help'));
    assert.deepEqual(rebuild[0]!.argv, [
      'switch',
      '--flake',
      `${HOSTILE_FLAKE}#${HOSTILE_HOST}`,
      '--target-host',
      HOSTILE_TARGET,
      '--sudo',
      '--option',
      'substituters',
      '$(id)',
      '',
    ]);
    assert.equal(fs.existsSync(path.join(dir, 'PWNED')), false);
  });

  it('prefixes doas locally and passes the same argv through it', async () => {
    const program = path.join(FAKE_BIN, 'nixos-rebuild');
    const { argv } = buildRebuildArgv({
      program,
      action: 'test',
      flake: HOSTILE_FLAKE,
      host: HOSTILE_HOST,
      elevation: 'doas',
      flavor: { ng: false, sudoFlag: '--use-remote-sudo' },
    });
    const r = await runProcess(argv, { env: env() });
    assert.equal(r.exitCode, 0, r.stderr);
    const [doas, rebuild] = calls();
    assert.equal(doas!.prog, 'doas');
    assert.deepEqual(doas!.command, argv.slice(2));
    assert.deepEqual(rebuild!.argv, ['test', '--flake', `${HOSTILE_FLAKE}#${HOSTILE_HOST}`]);
  });

  it('runs through nom with the internal-json log and keeps the exit code of nixos-rebuild', async () => {
    const program = path.join(FAKE_BIN, 'nixos-rebuild');
    const { argv } = buildRebuildArgv({
      program,
      action: 'boot',
      flake: HOSTILE_FLAKE,
      host: HOSTILE_HOST,
      elevation: 'sudo',
      flavor: { ng: false, sudoFlag: null },
      nom: true,
    });
    const line = nomPipeline(argv, path.join(FAKE_BIN, 'nom'));
    for (const code of ['0', '5']) {
      fs.rmSync(log, { force: true });
      const r = await runProcess(line, { env: env({ NIXGEN_FAKE_EXIT_NIXOS_REBUILD: code }) });
      assert.equal(r.exitCode, Number(code), r.stderr);
      const recorded = calls();
      assert.deepEqual(recorded.map((c) => c.prog).sort(), ['nixos-rebuild', 'nom', 'sudo']);
      const rebuild = recorded.find((c) => c.prog === 'nixos-rebuild')!;
      assert.deepEqual(rebuild.argv, [
        'boot',
        '--flake',
        `${HOSTILE_FLAKE}#${HOSTILE_HOST}`,
        '--log-format',
        'internal-json',
        '-v',
      ]);
      const nom = recorded.find((c) => c.prog === 'nom')!;
      assert.deepEqual(nom.argv, ['--json']);
      assert.ok((nom.stdinBytes ?? 0) > 0, 'nom read the build log');
      assert.match(r.stdout, /@nix \{"action":"start"/);
    }
  });
});

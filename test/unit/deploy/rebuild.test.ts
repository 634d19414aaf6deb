import { validateHost } from '../../../src/core/target';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { elevate, parseElevation } from '../../../src/core/deploy/elevation';
import {
  activates,
  buildRebuildArgv,
  DEFAULT_FLAVOR,
  detectRebuildFlavor,
  displayLine,
  flakeArg,
  needsRoot,
  nomPipeline,
  type RebuildOptions,
} from '../../../src/core/deploy/rebuild';
import { repoRoot } from '../../fixtures/fixture';
import { HOSTILE } from '../../lib/samples';

const FAKE_NOM = path.join(repoRoot(), 'test', 'fixtures', 'fake-bin', 'nom');

const NG_HELP = `usage: nixos-rebuild [-h] [--verbose] [--flake [FLAKE]] [--sudo] [--ask-sudo-password]
                     [--use-remote-sudo] [--target-host TARGET_HOST] [--build-host BUILD_HOST]
                     [{switch,boot,test,build,dry-build,dry-activate}]
`;
const LEGACY_MAN = `NIXOS-REBUILD(8)            System Manager's Manual            NIXOS-REBUILD(8)
SYNOPSIS
       nixos-rebuild [--flake flake-uri] [--target-host host] [--use-remote-sudo] {switch | boot}
       --use-remote-sudo
              When set, nixos-rebuild prefixes activation commands with sudo.
`;
const LEGACY_WITH_SUDO = `NIXOS-REBUILD(8)
       nixos-rebuild [--sudo] [--use-remote-sudo] {switch | boot}
       --sudo, --use-remote-sudo   Prefix activation commands with sudo.
`;

const base: RebuildOptions = {
  program: 'nixos-rebuild',
  action: 'switch',
  elevation: 'sudo',
  flavor: { ng: false, sudoFlag: '--use-remote-sudo' },
};

describe('nixos-rebuild flavor detection', () => {
  it('recognises nixos-rebuild-ng by its argparse usage and picks --sudo', () => {
    assert.deepEqual(detectRebuildFlavor(NG_HELP), { ng: true, sudoFlag: '--sudo' });
  });
  it('recognises the classic script and its --use-remote-sudo', () => {
    assert.deepEqual(detectRebuildFlavor(LEGACY_MAN), { ng: false, sudoFlag: '--use-remote-sudo' });
  });
  it('prefers --sudo when a classic script already has it', () => {
    assert.deepEqual(detectRebuildFlavor(LEGACY_WITH_SUDO), { ng: false, sudoFlag: '--sudo' });
  });
  it('does not mistake --use-remote-sudo or --sudo-something for --sudo', () => {
    assert.equal(detectRebuildFlavor('nixos-rebuild --use-remote-sudo --sudo-opts').sudoFlag, '--use-remote-sudo');
  });
  it('treats a program named nixos-rebuild-ng as ng even with a terse help', () => {
    assert.deepEqual(
      detectRebuildFlavor('Reconfigure a NixOS machine', '/run/current-system/sw/bin/nixos-rebuild-ng'),
      {
        ng: true,
        sudoFlag: '--sudo',
      },
    );
  });
  it('knows nothing from an empty text', () => {
    assert.deepEqual(detectRebuildFlavor(''), { ng: false, sudoFlag: null });
  });
});

describe('nixos-rebuild argv', () => {
  it('builds a flake switch with the host and the sudo flag of the installed flavor', () => {
    const { argv, notes } = buildRebuildArgv({ ...base, flake: '/etc/nixos', host: 'box' });
    assert.deepEqual(argv, ['nixos-rebuild', 'switch', '--flake', '/etc/nixos#box', '--use-remote-sudo']);
    assert.deepEqual(notes, []);
    const ng = buildRebuildArgv({
      ...base,
      flake: '/etc/nixos',
      host: 'box',
      flavor: { ng: true, sudoFlag: '--sudo' },
    });
    assert.deepEqual(ng.argv, ['nixos-rebuild', 'switch', '--flake', '/etc/nixos#box', '--sudo']);
  });

  it('builds a classic configuration without --flake', () => {
    const { argv } = buildRebuildArgv({ ...base, action: 'boot' });
    assert.deepEqual(argv, ['nixos-rebuild', 'boot', '--use-remote-sudo']);
  });

  it('needs no elevation to build', () => {
    for (const action of ['build', 'dry-build'] as const) {
      const { argv } = buildRebuildArgv({ ...base, action, flake: '.', host: 'h' });
      assert.deepEqual(argv, ['nixos-rebuild', action, '--flake', '.#h']);
      assert.equal(needsRoot(action), false);
    }
    assert.equal(needsRoot('dry-activate'), true);
    assert.equal(activates('test'), true);
    assert.equal(activates('boot'), false);
  });

  it('passes target and build hosts as separate argv items', () => {
    const { argv } = buildRebuildArgv({
      ...base,
      flake: '.',
      host: 'web',
      targetHost: 'root@web',
      buildHost: 'builder',
    });
    assert.deepEqual(argv, [
      'nixos-rebuild',
      'switch',
      '--flake',
      '.#web',
      '--target-host',
      'root@web',
      '--build-host',
      'builder',
      '--use-remote-sudo',
    ]);
  });

  it('prefixes sudo when the flavor has no sudo flag, locally', () => {
    const { argv } = buildRebuildArgv({ ...base, flavor: { ng: false, sudoFlag: null } });
    assert.deepEqual(argv, ['sudo', '--', 'nixos-rebuild', 'switch']);
  });

  it('prefixes doas or run0 locally, and explains why it cannot remotely', () => {
    assert.deepEqual(buildRebuildArgv({ ...base, elevation: 'doas' }).argv, ['doas', '--', 'nixos-rebuild', 'switch']);
    assert.deepEqual(buildRebuildArgv({ ...base, elevation: 'run0', action: 'test' }).argv, [
      'run0',
      '--',
      'nixos-rebuild',
      'test',
    ]);
    const remote = buildRebuildArgv({ ...base, elevation: 'doas', targetHost: 'admin@server' });
    assert.deepEqual(remote.argv, ['nixos-rebuild', 'switch', '--target-host', 'admin@server']);
    assert.match(remote.notes.join('\n'), /admin@server\) must be root/);
  });

  it('adds nothing with elevation none', () => {
    assert.deepEqual(buildRebuildArgv({ ...base, elevation: 'none' }).argv, ['nixos-rebuild', 'switch']);
  });

  it('keeps hostile hosts, flake paths and extra arguments as exact argv items', () => {
    for (const value of HOSTILE) {
      // a target host ssh would misread (leading -, whitespace, control characters) is refused; see below
      const targetHost = value.trim() !== '' && validateHost(value) === null ? value : 'admin@server';
      const { argv } = buildRebuildArgv({
        ...base,
        flake: `/home/me/${value}`,
        host: value,
        targetHost,
        extraArgs: [value, '--option', 'x', value],
      });
      assert.ok(argv.includes(`/home/me/${value}#${value}`), JSON.stringify(argv));
      assert.equal(argv[argv.indexOf('--target-host') + 1], targetHost);
      assert.deepEqual(argv.slice(-4), [value, '--option', 'x', value]);
    }
  });

  it('refuses --target-host and --build-host values ssh would read as options, as safe switch does', () => {
    for (const host of ['-oProxyCommand=touch /tmp/p', '-oProxyCommand=sh', 'a b', 'a\nb', 'h-${env:HOME}']) {
      assert.throws(() => buildRebuildArgv({ ...base, targetHost: host }), /--target-host: the target host/);
      assert.throws(() => buildRebuildArgv({ ...base, buildHost: host }), /--build-host: the target host/);
    }
    assert.deepEqual(buildRebuildArgv({ ...base, buildHost: 'builder@b1', elevation: 'none' }).argv, [
      'nixos-rebuild',
      'switch',
      '--build-host',
      'builder@b1',
    ]);
  });

  it('adds the internal-json log format for nom before the extra arguments', () => {
    const { argv } = buildRebuildArgv({ ...base, nom: true, extraArgs: ['--show-trace'] });
    assert.deepEqual(argv, [
      'nixos-rebuild',
      'switch',
      '--use-remote-sudo',
      '--log-format',
      'internal-json',
      '-v',
      '--show-trace',
    ]);
  });

  it('uses a fragment already in the flake setting when no host is given', () => {
    assert.equal(flakeArg('/etc/nixos#box'), '/etc/nixos#box');
    assert.equal(flakeArg('/etc/nixos#box', 'other'), '/etc/nixos#other');
    assert.equal(flakeArg('github:me/conf'), 'github:me/conf');
  });

  it('has a sane default flavor', () => {
    assert.equal(DEFAULT_FLAVOR.sudoFlag, '--use-remote-sudo');
  });
});

describe('elevation', () => {
  it('prefixes the program with -- so nothing is read as its option', () => {
    assert.deepEqual(elevate(['-x', 'y'], 'sudo'), ['sudo', '--', '-x', 'y']);
    assert.deepEqual(elevate(['a'], 'none'), ['a']);
    assert.throws(() => elevate([], 'doas'));
  });
  it('reads settings, defaulting to sudo', () => {
    assert.equal(parseElevation('run0'), 'run0');
    assert.equal(parseElevation('su'), 'sudo');
    assert.equal(parseElevation(undefined), 'sudo');
  });
});

describe('nom pipeline', () => {
  it('runs argv through sh as positional parameters and keeps its exit code', () => {
    const argv = ['sh', '-c', 'printf "%s\\0" "$@"; exit 3', 'x', ...HOSTILE];
    const line = nomPipeline(argv, FAKE_NOM);
    let out = '';
    let status = 0;
    try {
      out = execFileSync(line[0]!, line.slice(1), { encoding: 'utf8', env: { ...process.env, NIXGEN_FAKE_LOG: '' } });
    } catch (error) {
      const e = error as { status: number; stdout: string };
      status = e.status;
      out = e.stdout;
    }
    assert.equal(status, 3, 'the exit code of nixos-rebuild, not of nom');
    assert.deepEqual(out.split('\0').slice(0, -1), HOSTILE);
  });

  it('shows a terminal line that a shell reads back as the same argv', () => {
    const argv = ['nixos-rebuild', 'switch', '--flake', `/x/${HOSTILE.join('')}#h`];
    const shown = displayLine(nomPipeline(argv));
    assert.match(shown, / \|& nom --json$/);
    const words = execFileSync('/bin/sh', ['-c', `printf '%s\\0' ${shown.replace(/ \|& nom --json$/, '')}`], {
      encoding: 'utf8',
    });
    assert.deepEqual(words.split('\0').slice(0, -1), argv);
    assert.equal(displayLine(['a b', 'c']), "'a b' c");
  });
});

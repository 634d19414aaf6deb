import assert from 'node:assert/strict';
import { elevate, elevationPrefix, resolveElevation, type ElevationFacts } from '../../../src/core/deploy/elevation';

const installed = (isRoot: boolean, ...programs: string[]): ElevationFacts => ({
  isRoot,
  which: (p) => (programs.includes(p) ? `/run/wrappers/bin/${p}` : null),
});

describe('elevation on this machine', () => {
  const argv = elevate(['sh', '/tmp/script', 'a b'], 'sudo');

  it('drops a missing elevation program when already root', () => {
    assert.deepEqual(resolveElevation(argv, installed(true)), {
      argv: ['sh', '/tmp/script', 'a b'],
      dropped: 'sudo',
    });
    const doas = elevate(['nix-env', '--version'], 'doas');
    assert.deepEqual(resolveElevation(doas, installed(true)).argv, ['nix-env', '--version']);
  });

  it('keeps the prefix, resolved to its absolute path, when the program is installed (root or not)', () => {
    const expected = { argv: ['/run/wrappers/bin/sudo', '--', 'sh', '/tmp/script', 'a b'], dropped: null };
    assert.deepEqual(resolveElevation(argv, installed(true, 'sudo')), expected);
    assert.deepEqual(resolveElevation(argv, installed(false, 'sudo')), expected);
  });

  it('refuses, naming the setting, when not root and the program is missing (nobody could elevate)', () => {
    assert.throws(
      () => resolveElevation(argv, installed(false)),
      /sudo \(setting nixosGenerations\.elevation\) was not found/,
    );
  });

  it('leaves unelevated argv alone', () => {
    const plain = ['nixos-rebuild', 'switch'];
    assert.deepEqual(resolveElevation(plain, installed(true)), { argv: plain, dropped: null });
  });
});

describe('elevationPrefix: one decision for the terminal, background steps and ssh', () => {
  it('is empty with elevation "none" everywhere', () => {
    for (const site of [{ kind: 'terminal' }, { kind: 'background' }, { kind: 'ssh', host: 'admin@h' }] as const) {
      assert.deepEqual(elevationPrefix('none', site, installed(false)).prefix, []);
    }
  });

  it('background steps as root need no program; as a user they get the program and --', () => {
    assert.deepEqual(elevationPrefix('sudo', { kind: 'background' }, installed(true, 'sudo')).prefix, []);
    assert.deepEqual(elevationPrefix('doas', { kind: 'background' }, installed(false, 'doas')).prefix, ['doas', '--']);
  });

  it('the terminal gets the absolute program, even as root when it is installed', () => {
    assert.deepEqual(elevationPrefix('run0', { kind: 'terminal' }, installed(true, 'run0')).prefix, [
      '/run/wrappers/bin/run0',
      '--',
    ]);
  });

  it('over ssh: nothing as root@, else the non-interactive mode (no password can be typed)', () => {
    assert.deepEqual(elevationPrefix('sudo', { kind: 'ssh', host: 'root@h' }, installed(false)).prefix, []);
    assert.deepEqual(elevationPrefix('sudo', { kind: 'ssh', host: 'admin@h' }, installed(false)).prefix, [
      'sudo',
      '-n',
      '--',
    ]);
    assert.deepEqual(elevationPrefix('run0', { kind: 'ssh', host: 'h' }, installed(false)).prefix, ['run0', '--']);
  });
});

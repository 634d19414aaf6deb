import assert from 'node:assert/strict';
import { elevate, withoutNeedlessElevation } from '../../../src/core/deploy/elevation';

describe('elevation on this machine', () => {
  const argv = elevate(['sh', '/tmp/script', 'a b'], 'sudo');
  const none = (): boolean => false;
  const all = (): boolean => true;

  it('drops a missing elevation program when already root', () => {
    assert.deepEqual(withoutNeedlessElevation(argv, true, none), {
      argv: ['sh', '/tmp/script', 'a b'],
      dropped: 'sudo',
    });
    const doas = elevate(['nix-env', '--version'], 'doas');
    assert.deepEqual(withoutNeedlessElevation(doas, true, none).argv, ['nix-env', '--version']);
  });

  it('keeps the prefix when the program is installed, or when not root (the user types a password)', () => {
    assert.deepEqual(withoutNeedlessElevation(argv, true, all), { argv, dropped: null });
    assert.deepEqual(withoutNeedlessElevation(argv, false, none), { argv, dropped: null });
  });

  it('leaves unelevated argv alone', () => {
    const plain = ['nixos-rebuild', 'switch'];
    assert.deepEqual(withoutNeedlessElevation(plain, true, none), { argv: plain, dropped: null });
  });
});

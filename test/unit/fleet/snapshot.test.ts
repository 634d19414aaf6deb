import assert from 'node:assert/strict';
import { followLinks } from '../../../src/core/generations/fsutil';
import { classifySshFailure } from '../../../src/core/fleet/remote-list';
import { PathSnapshot } from '../../../src/core/fleet/snapshot';

describe("fleet: a remote machine's paths as a file system", () => {
  const sys = '/nix/store/aaaa-nixos-system-web1-24.11';
  const snap = new PathSnapshot([
    { kind: 'stat', name: '/run/current-system', body: 'l 1700000000 12 40' },
    { kind: 'link', name: '/run/current-system', body: sys },
    { kind: 'stat', name: sys, body: 'd 1 99 4096' },
    { kind: 'file', name: `${sys}/nixos-version`, body: '24.11.20241201.abcdef0' },
    { kind: 'link', name: `${sys}/kernel`, body: '/nix/store/kkkk-linux-6.6.66/bzImage' },
    { kind: 'link', name: `${sys}/kernel-modules`, body: '../kkkk-linux-6.6.66' },
    { kind: 'dir', name: '/nix/store/kkkk-linux-6.6.66/lib/modules', body: '6.6.66\n' },
    { kind: 'stat', name: 'relative/ignored', body: 'f 1 1 1' },
  ]);

  it('answers lstat, readlink, readdir and reads from what was reported, with dates in ms', async () => {
    const st = await snap.lstat('/run/current-system');
    assert.equal(st.isSymbolicLink(), true);
    assert.equal(st.mtimeMs, 1_700_000_000_000);
    assert.equal(await snap.readlink('/run/current-system'), sys);
    assert.equal(await snap.readSmall(`${sys}/nixos-version`, 5), '24.11');
    assert.deepEqual(await snap.readdir('/nix/store/kkkk-linux-6.6.66/lib/modules'), ['6.6.66']);
    assert.equal(await snap.lstatIfExists('/nix/store/zzzz-gone'), null);
    await assert.rejects(snap.lstat('/nix/store/zzzz-gone'), { code: 'ENOENT' });
    assert.equal(await snap.lstatIfExists('relative/ignored'), null);
  });

  it('resolves paths below a reported link through it, relative targets too', async () => {
    assert.equal(await snap.readSmall('/run/current-system/nixos-version', 100), '24.11.20241201.abcdef0');
    assert.equal(await followLinks('/run/current-system/kernel', 8, snap), '/nix/store/kkkk-linux-6.6.66/bzImage');
    assert.deepEqual(await snap.readdir(`${sys}/kernel-modules/lib/modules`), ['6.6.66']);
  });

  it('a link loop ends instead of hanging', () => {
    const loop = new PathSnapshot([
      { kind: 'link', name: '/a', body: '/b' },
      { kind: 'link', name: '/b', body: '/a' },
    ]);
    assert.equal(typeof loop.resolveParents('/a/x/y'), 'string');
  });

  it('tells why ssh failed', () => {
    assert.equal(classifySshFailure('', true, 4000).message, 'no answer within 4 s');
    assert.equal(
      classifySshFailure('ssh: connect to host 10.0.0.1 port 22: Connection refused\n', false, 1).kind,
      'refused',
    );
    assert.equal(classifySshFailure('ssh: connect to host x port 22: No route to host', false, 1).kind, 'no-route');
    assert.equal(
      classifySshFailure('ssh: Could not resolve hostname nope: Name or service not known', false, 1).kind,
      'unknown-host',
    );
    assert.equal(classifySshFailure('root@x: Permission denied (publickey).', false, 1).kind, 'auth');
    assert.equal(classifySshFailure('Host key verification failed.', false, 1).kind, 'host-key');
    assert.match(classifySshFailure('something odd', false, 1).message, /something odd/);
  });
});

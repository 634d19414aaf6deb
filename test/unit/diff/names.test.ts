import assert from 'node:assert/strict';
import {
  compareVersions,
  majorVersion,
  parseDrvName,
  splitStoreName,
  storeName,
  versionComponents,
} from '../../../src/core/diff/names';

describe('diff: store names', () => {
  it('takes the name out of a store path, and refuses what is not one', () => {
    assert.equal(storeName('/nix/store/c3vlbii6x4xcd4wp6hkrx4dcqfzp61x3-hello-2.12'), 'hello-2.12');
    assert.equal(storeName('/tmp/fx/store/c3vlbii6x4xcd4wp6hkrx4dcqfzp61x3-firmware'), 'firmware');
    assert.equal(storeName('/nix/store/hello-2.12'), null);
    assert.equal(storeName('/nix/store/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-x'), null, '"e" is not in Nix base32');
    assert.equal(storeName(''), null);
  });

  it('splits like parseDrvName: at the first dash not followed by a letter', () => {
    assert.deepEqual(parseDrvName('hello-2.12'), { name: 'hello', version: '2.12' });
    assert.deepEqual(parseDrvName('python3.11-requests-2.31.0'), { name: 'python3.11-requests', version: '2.31.0' });
    assert.deepEqual(parseDrvName('firmware'), { name: 'firmware', version: '' });
    assert.deepEqual(parseDrvName('glibc-2.39-52'), { name: 'glibc', version: '2.39-52' });
    assert.deepEqual(parseDrvName('foo-'), { name: 'foo-', version: '' });
    assert.deepEqual(parseDrvName('-1'), { name: '', version: '1' });
  });

  it('moves output suffixes to the name (linux-6.6.32-modules is not a second linux)', () => {
    assert.deepEqual(splitStoreName('linux-6.6.32-modules'), { name: 'linux-modules', version: '6.6.32' });
    assert.deepEqual(splitStoreName('glibc-2.39-52-bin'), { name: 'glibc-bin', version: '2.39-52' });
    assert.deepEqual(splitStoreName('bash-5.2-p15'), { name: 'bash', version: '5.2-p15' });
  });

  it('splits NixOS toplevels before the label, whatever the git sha starts with', () => {
    // parseDrvName would give "nixos-system-host-git-abc1234" / "24.05..." here ...
    assert.deepEqual(splitStoreName('nixos-system-host-git-abc1234-24.05.20240601.abcdef0'), {
      name: 'nixos-system-host',
      version: 'git-abc1234-24.05.20240601.abcdef0',
    });
    // ... and "nixos-system-host-git" / "655604d-24.05..." here
    assert.deepEqual(splitStoreName('nixos-system-host-git-655604d-24.05.20240601.abcdef0'), {
      name: 'nixos-system-host',
      version: 'git-655604d-24.05.20240601.abcdef0',
    });
    assert.deepEqual(splitStoreName('nixos-system-my-box-24.11.20250101.abcdef0-1234567'), {
      name: 'nixos-system-my-box',
      version: '24.11.20250101.abcdef0-1234567',
    });
    assert.deepEqual(splitStoreName('nixos-system-nixbox-24.11pre-git'), {
      name: 'nixos-system-nixbox',
      version: '24.11pre-git',
    });
  });

  it('uses the exact label when it is known (tags that look like anything)', () => {
    assert.deepEqual(splitStoreName('nixos-system-web-1-prod-blue-24.05.1', 'prod-blue-24.05.1'), {
      name: 'nixos-system-web-1',
      version: 'prod-blue-24.05.1',
    });
    // a label that does not match the name is ignored
    assert.deepEqual(splitStoreName('nixos-system-a-24.05.1', 'zzz'), { name: 'nixos-system-a', version: '24.05.1' });
  });
});

describe('diff: Nix version order', () => {
  const lt = (a: string, b: string): void => {
    assert.equal(compareVersions(a, b), -1, `${a} < ${b}`);
    assert.equal(compareVersions(b, a), 1, `${b} > ${a}`);
  };
  it('orders versions as builtins.compareVersions does', () => {
    lt('1.0', '2.3');
    lt('2.1', '2.3');
    lt('2.3', '2.3.1');
    lt('2.3.1', '2.3.2');
    lt('2.3a', '2.3.1');
    lt('2.3pre1', '2.3');
    lt('2.3pre3', '2.3pre12');
    lt('2.3a', '2.3c');
    lt('2.3pre1', '2.3c');
    lt('2.3pre1', '2.3q');
    lt('6.6.9', '6.6.10');
    lt('5.2-p15', '5.2p26');
    lt('9', '10');
    lt('99999999999999999999', '100000000000000000000');
    assert.equal(compareVersions('2.3', '2.3'), 0);
    assert.equal(compareVersions('2.03', '2.3'), 0);
    assert.equal(compareVersions('', ''), 0);
  });
  it('splits components at dots, dashes and digit/letter changes', () => {
    assert.deepEqual(versionComponents('2.3pre1-x'), ['2', '3', 'pre', '1', 'x']);
    assert.equal(majorVersion('15.7'), 15);
    assert.equal(majorVersion('abc'), null);
  });
});

import assert from 'node:assert/strict';
import { chooseHost, fixedHost, flakeTarget } from '../../../src/core/plan/flake';

const folders = [
  { path: '/w/one', hasFlake: false },
  { path: '/w/two', hasFlake: true },
];

describe('flake target and host', () => {
  it('the setting: local paths resolved against the first folder (~ is home), references kept', () => {
    assert.deepEqual(flakeTarget({ setting: './cfg#box', folders, home: '/h', cwd: '/c' }), {
      flake: './cfg#box',
      dir: '/w/one/cfg',
      cwd: '/w/one/cfg',
    });
    assert.deepEqual(flakeTarget({ setting: '~/nix', folders: [], home: '/h', cwd: '/c' }), {
      flake: '/h/nix',
      dir: '/h/nix',
      cwd: '/h/nix',
    });
    assert.deepEqual(flakeTarget({ setting: 'github:o/r', folders, home: '/h', cwd: '/c' }), {
      flake: 'github:o/r',
      dir: undefined,
      cwd: '/w/one',
    });
  });

  it('an override wins; without any, the folder holding flake.nix; else a classic configuration', () => {
    assert.equal(flakeTarget({ setting: '/a', override: '/b', folders, home: '/h', cwd: '/c' }).flake, '/b');
    assert.deepEqual(flakeTarget({ setting: ' ', folders, home: '/h', cwd: '/c' }), {
      flake: '/w/two',
      dir: '/w/two',
      cwd: '/w/two',
    });
    assert.deepEqual(flakeTarget({ setting: '', folders: [folders[0]!], home: '/h', cwd: '/c' }), {
      flake: undefined,
      dir: undefined,
      cwd: '/w/one',
    });
  });

  it('the host: the setting, none for classic or #-references, else to be found', () => {
    const flake = { flake: '/f', dir: '/f', cwd: '/f' };
    assert.deepEqual(fixedHost(' box ', flake), { host: 'box' });
    assert.deepEqual(fixedHost('', { flake: undefined, dir: undefined, cwd: undefined }), { host: null });
    assert.deepEqual(fixedHost('', { ...flake, flake: '/f#box' }), { host: null });
    assert.equal(fixedHost('', flake), null);
  });

  it('one name is taken, several offered with this machine first, none means this machine', () => {
    assert.deepEqual(chooseHost(['a'], 'me'), { host: 'a' });
    assert.deepEqual(chooseHost(null, 'me'), { host: 'me' });
    assert.deepEqual(chooseHost([], 'me'), { host: 'me' });
    assert.deepEqual(chooseHost(['b', 'me', 'a'], 'me'), {
      pick: [
        { label: 'me', description: 'this machine' },
        { label: 'a', description: '' },
        { label: 'b', description: '' },
      ],
    });
  });
});

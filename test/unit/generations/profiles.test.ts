import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultProfiles, nixStateDir, profileExists, systemProfilePath } from '../../../src/core/generations';

describe('generations: default profiles', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-profiles-')));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const link = (p: string, n = 1): void => {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.symlinkSync('/nonexistent/store/x', `${p}-${n}-link`);
    fs.symlinkSync(`${path.basename(p)}-${n}-link`, p);
  };

  it('finds nothing on a machine without Nix profiles', async () => {
    assert.deepEqual(await defaultProfiles({ NIX_STATE_DIR: path.join(tmp, 'var'), HOME: tmp, USER: 'alice' }), []);
  });

  it('uses the legacy per-user profiles when the XDG ones are absent, and prefers XDG when both exist', async () => {
    const state = path.join(tmp, 'var', 'nix');
    link(path.join(state, 'profiles', 'system'));
    link(path.join(state, 'profiles', 'per-user', 'alice', 'profile'));
    link(path.join(state, 'profiles', 'per-user', 'alice', 'home-manager'));
    const env = { NIX_STATE_DIR: state, HOME: path.join(tmp, 'home'), USER: 'alice' };
    assert.deepEqual(
      (await defaultProfiles(env)).map((r) => [r.kind, r.name, path.relative(tmp, r.path)]),
      [
        ['system', 'system', 'var/nix/profiles/system'],
        ['user', 'user', 'var/nix/profiles/per-user/alice/profile'],
        ['home-manager', 'home-manager', 'var/nix/profiles/per-user/alice/home-manager'],
      ],
    );
    link(path.join(tmp, 'home', '.local', 'state', 'nix', 'profiles', 'home-manager'));
    assert.deepEqual(
      (await defaultProfiles(env)).map((r) => path.relative(tmp, r.path)),
      [
        'var/nix/profiles/system',
        'var/nix/profiles/per-user/alice/profile',
        'home/.local/state/nix/profiles/home-manager',
      ],
    );
    // XDG_STATE_HOME moves the new location; a user name with a slash is not a path
    link(path.join(tmp, 'xdg', 'nix', 'profiles', 'profile'), 3);
    assert.deepEqual(
      (await defaultProfiles({ ...env, XDG_STATE_HOME: path.join(tmp, 'xdg'), USER: '../alice' })).map((r) =>
        path.relative(tmp, r.path),
      ),
      ['var/nix/profiles/system', 'xdg/nix/profiles/profile'],
    );
  });

  it('counts a profile as existing by its link or by a generation link alone', async () => {
    const p = path.join(tmp, 'p', 'system');
    assert.equal(await profileExists(p), false);
    fs.mkdirSync(path.dirname(p));
    fs.symlinkSync('/nonexistent', `${p}-4-link`);
    assert.equal(await profileExists(p), true);
  });

  it('honours NIX_STATE_DIR only when absolute', () => {
    assert.equal(nixStateDir({ NIX_STATE_DIR: 'relative/dir' }), '/nix/var/nix');
    assert.equal(systemProfilePath({}), '/nix/var/nix/profiles/system');
    assert.equal(systemProfilePath({ NIX_STATE_DIR: '/s' }), '/s/profiles/system');
  });
});

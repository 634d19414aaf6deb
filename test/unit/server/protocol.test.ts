import assert from 'node:assert/strict';
import { isUnder } from '../../../src/core/lint/service';
import {
  DEFAULT_SERVER_SETTINGS,
  effectiveSettings,
  MAX_RESTARTS,
  parseEvaluationSettings,
  parseInitializationOptions,
  parseSettingsSection,
  RESTART_WINDOW_MS,
  shouldRestart,
} from '../../../src/core/protocol';

describe('language server protocol (shared by client and server)', () => {
  it('parses the settings section as workspace/configuration returns it', () => {
    assert.deepEqual(parseSettingsSection({ lint: { base: 'main' }, runDir: '/tmp/run', other: 1 }), {
      base: 'main',
      runDir: '/tmp/run',
    });
    assert.deepEqual(parseSettingsSection({ lint: { base: '' }, runDir: '' }), { base: '', runDir: '' });
  });

  it('malformed or missing settings take the defaults, never throw', () => {
    for (const bad of [null, undefined, 7, 'x', [], { lint: 'HEAD', runDir: 3 }, { lint: { base: ['a'] } }]) {
      assert.deepEqual(parseSettingsSection(bad), DEFAULT_SERVER_SETTINGS);
    }
  });

  it('initialization options: trusted unless the client says false', () => {
    assert.deepEqual(parseInitializationOptions({ base: 'v1', runDir: '/run', trusted: false }), {
      base: 'v1',
      runDir: '/run',
      trusted: false,
    });
    assert.equal(parseInitializationOptions(undefined).trusted, true);
    assert.equal(parseInitializationOptions({ trusted: 'no' }).trusted, true);
    assert.deepEqual(parseInitializationOptions('junk'), { ...DEFAULT_SERVER_SETTINGS, trusted: true });
  });

  it('an untrusted workspace runs no git and reads no activated generation', () => {
    const settings = { base: 'HEAD', runDir: '/run' };
    assert.deepEqual(effectiveSettings(settings, false), { base: '', runDir: '' });
    assert.equal(effectiveSettings(settings, true), settings);
  });

  it('restarts a crashed server at most MAX_RESTARTS times in the window, then again once the window passed', () => {
    const crashes: number[] = [];
    const answers = Array.from({ length: MAX_RESTARTS + 1 }, (_, i) => shouldRestart(crashes, 1000 + i));
    assert.deepEqual(answers, [...Array<boolean>(MAX_RESTARTS).fill(true), false]);
    assert.equal(shouldRestart(crashes, 1000 + MAX_RESTARTS + RESTART_WINDOW_MS + 1), true);
  });
});

describe('project membership by path segments', () => {
  it('a file is inside a project only below its directory, not beside it with a longer name', () => {
    assert.equal(isUnder('/a/proj/flake.nix', '/a/proj'), true);
    assert.equal(isUnder('/a/proj', '/a/proj'), true);
    assert.equal(isUnder('/a/proj/', '/a/proj/'), true);
    assert.equal(isUnder('/a/proj2/flake.nix', '/a/proj'), false);
    assert.equal(isUnder('/a/proj-old/x.nix', '/a/proj'), false);
    assert.equal(isUnder('/a/pro', '/a/proj'), false);
  });
});

describe('evaluation settings', () => {
  it('are on with nix from PATH unless turned off or another executable is named', () => {
    assert.deepEqual(parseEvaluationSettings(undefined), { enabled: true, nix: 'nix' });
    assert.deepEqual(parseEvaluationSettings({ enabled: false }), { enabled: false, nix: 'nix' });
    assert.deepEqual(parseEvaluationSettings({ enabled: 'no', nix: '  ' }), { enabled: true, nix: 'nix' });
    assert.deepEqual(parseEvaluationSettings({ nix: '/opt/nix/bin/nix' }), { enabled: true, nix: '/opt/nix/bin/nix' });
  });
});

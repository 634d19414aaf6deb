import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Generation, ProfileListing } from '../../../src/core/generations/types';
import { hostNameOf, machineFactsOf } from '../../../src/core/lint/machine';
import { isUnder } from '../../../src/core/lint/service';
import {
  DEFAULT_SERVER_SETTINGS,
  effectiveSettings,
  MAX_RESTARTS,
  parseEvaluationSettings,
  parseInitializationOptions,
  parseMachineFacts,
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

  it('machine facts: checked field by field, a malformed one left out, never thrown', () => {
    const good = {
      hostName: 'nixbox',
      oldest: { generation: 1, release: '23.05' },
      activated: { generation: 30, revision: 'a'.repeat(40) },
    };
    assert.deepEqual(parseMachineFacts(good), good);
    assert.deepEqual(parseInitializationOptions({ machine: good }).machine, good);
    assert.equal(parseInitializationOptions({}).machine, undefined);
    for (const bad of [
      null,
      7,
      'x',
      [],
      { hostName: 'a b; rm -rf /' },
      { oldest: { generation: -1, release: '23.05' } },
    ])
      assert.deepEqual(parseMachineFacts(bad), {});
    // a release that is none, a revision that is no commit ("dirty", an option): left out
    assert.deepEqual(
      parseMachineFacts({
        oldest: { generation: 2, release: '21.03' },
        activated: { generation: 3, revision: '--upload-pack=x' },
      }),
      { activated: { generation: 3 } },
    );
  });

  it("machine facts from the listings: the system profile's oldest release and activated commit", () => {
    const gen = (n: number, extra: Partial<Generation>): Generation => ({
      generation: n,
      date: '2024-01-01T00:00:00Z',
      linkPath: `/p/system-${n}-link`,
      storePath: `/nix/store/x-${n}`,
      missing: false,
      label: null,
      nixosVersion: null,
      codename: null,
      kernelVersion: null,
      specialisations: [],
      configurationRevision: null,
      current: false,
      activated: false,
      booted: false,
      closureSize: null,
      kind: 'nixos',
      ...extra,
    });
    const home: ProfileListing = {
      profile: { path: '/h/home-manager', kind: 'home-manager', name: 'home-manager' },
      generations: [gen(1, { kind: 'home-manager', release: '22.05' })],
      currentGeneration: 1,
    };
    const system: ProfileListing = {
      profile: { path: '/p/system', kind: 'system', name: 'system' },
      generations: [
        gen(3, { missing: true, release: null }),
        gen(4, { release: '23.05' }),
        gen(9, { release: '24.05', activated: true, configurationRevision: 'b'.repeat(40) }),
      ],
      currentGeneration: 9,
    };
    assert.deepEqual(machineFactsOf([home, system], 'nixbox'), {
      hostName: 'nixbox',
      oldest: { generation: 4, release: '23.05' },
      activated: { generation: 9, revision: 'b'.repeat(40) },
    });
    assert.deepEqual(machineFactsOf([home]), {});
  });

  it('the host name of a system generation is its etc/hostname, when it is a plain name', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nixgen-host-'));
    try {
      mkdirSync(path.join(dir, 'etc'));
      assert.equal(hostNameOf(dir), undefined);
      writeFileSync(path.join(dir, 'etc', 'hostname'), 'nixbox\n');
      assert.equal(hostNameOf(dir), 'nixbox');
      writeFileSync(path.join(dir, 'etc', 'hostname'), '$(reboot)\n');
      assert.equal(hostNameOf(dir), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

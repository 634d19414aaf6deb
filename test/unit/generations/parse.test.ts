import assert from 'node:assert/strict';
import {
  codenameForRelease,
  generationToJson,
  isoSeconds,
  listingsToJson,
  parseBootJson,
  parseBootLabel,
  parseGenerationLinkName,
  parseHmVersion,
  parseLabel,
  parseNixosVersionScript,
  parseOsRelease,
  parsePathInfoJson,
  profileRefFor,
  profileWatchTarget,
  runDirWatchTarget,
  sortByGeneration,
} from '../../../src/core/generations';
import { gen } from '../../lib/samples';

describe('generations: link names', () => {
  it('takes only <profile>-N-link', () => {
    assert.equal(parseGenerationLinkName('system', 'system-42-link'), 42);
    assert.equal(parseGenerationLinkName('system', 'system-0-link'), 0);
    assert.equal(parseGenerationLinkName('system', 'system-007-link'), 7);
    assert.equal(parseGenerationLinkName('home-manager', 'home-manager-3-link'), 3);
    assert.equal(parseGenerationLinkName('system', 'system-4294967295-link'), 4294967295);
    for (const entry of [
      'system',
      'per-user',
      'system.lock',
      'system-link',
      'system--link',
      'system-x-link',
      'system--1-link',
      'system-+1-link',
      'system- 1-link',
      'system-1 -link',
      'system-1.5-link',
      'system-1e3-link',
      'system-4294967296-link',
      'system-99999999999-link',
      'system-1-link.tmp',
      'system-1-linkx',
      'other-1-link',
      'system-profiles',
      'system-1-5-link',
      'system-١-link', // Arabic-Indic digit one
    ]) {
      assert.equal(parseGenerationLinkName('system', entry), null, entry);
    }
  });

  it('sorts numerically, not as text', () => {
    const sorted = sortByGeneration([10, 9, 100, 1, 2].map((generation) => ({ generation })));
    assert.deepEqual(
      sorted.map((g) => g.generation),
      [1, 2, 9, 10, 100],
    );
  });
});

describe('generations: labels', () => {
  it('reads the plain version label', () => {
    assert.deepEqual(parseLabel('24.05.20240601.abcdef0'), {
      nixosVersion: '24.05.20240601.abcdef0',
      release: '24.05',
      revision: null,
    });
    assert.deepEqual(parseLabel('23.11.5765.a1b2c3d'), {
      nixosVersion: '23.11.5765.a1b2c3d',
      release: '23.11',
      revision: null,
    });
  });

  it('finds the git sha in a tag or a suffix', () => {
    assert.deepEqual(parseLabel('git-655604d-24.05.20240714.81ad80d'), {
      nixosVersion: '24.05.20240714.81ad80d',
      release: '24.05',
      revision: '655604d',
    });
    assert.equal(parseLabel('24.11.20241201.ddabd7d-5117e80').revision, '5117e80');
    assert.equal(parseLabel('24.11.20241201.ddabd7d-5117e80-dirty').revision, '5117e80-dirty');
    assert.equal(parseLabel('git-dirty-24.05.20240825.ff40fe2').revision, 'dirty');
    assert.equal(
      parseLabel('server-git-0123456789abcdef0123456789abcdef01234567-25.05.1.abc').revision,
      '0123456789abcdef0123456789abcdef01234567',
    );
    // other tags are not revisions
    assert.deepEqual(parseLabel('laptop-nvidia-24.05.20240601.abcdef0'), {
      nixosVersion: '24.05.20240601.abcdef0',
      release: '24.05',
      revision: null,
    });
  });

  it('keeps 24.11pre-git together and gives up on custom labels', () => {
    assert.equal(parseLabel('24.11pre-git').nixosVersion, '24.11pre-git');
    assert.deepEqual(parseLabel('my-custom-label'), { nixosVersion: null, release: null, revision: null });
    assert.deepEqual(parseLabel(''), { nixosVersion: null, release: null, revision: null });
    assert.deepEqual(parseLabel(null), { nixosVersion: null, release: null, revision: null });
    assert.deepEqual(parseLabel('24.05 with spaces'), { nixosVersion: null, release: null, revision: null });
    assert.equal(parseLabel('24.05.x\u0000y').nixosVersion, null);
  });

  it('reads bootspec labels with and without codename', () => {
    assert.deepEqual(parseBootLabel('NixOS Uakari 24.05.20240601.abcdef0 (Linux 6.6.32)'), {
      distro: 'NixOS',
      codename: 'Uakari',
      label: '24.05.20240601.abcdef0',
      kernelVersion: '6.6.32',
    });
    assert.equal(parseBootLabel('NixOS Vicuña 24.11.1.abc (Linux 6.6.63)').codename, 'Vicuña');
    assert.deepEqual(parseBootLabel('NixOS 23.05.1.abc (Linux 6.1.30)'), {
      distro: 'NixOS',
      codename: null,
      label: '23.05.1.abc',
      kernelVersion: '6.1.30',
    });
    assert.equal(parseBootLabel('something odd (Linux 6.9.0-rc1) here').kernelVersion, '6.9.0-rc1');
    assert.deepEqual(parseBootLabel(undefined), { distro: null, codename: null, label: null, kernelVersion: null });
  });

  it('has our release table and home-manager versions', () => {
    assert.equal(codenameForRelease('24.05'), 'Uakari');
    assert.equal(codenameForRelease('24.11'), 'Vicuña');
    assert.equal(codenameForRelease('13.10'), 'Aardvark');
    assert.equal(codenameForRelease('99.99'), null);
    assert.equal(codenameForRelease('toString'), null);
    assert.deepEqual(parseHmVersion('24.05+a1b2c3d4\n'), { release: '24.05', revision: 'a1b2c3d4' });
    assert.deepEqual(parseHmVersion('25.05-pre'), { release: '25.05', revision: null });
    assert.deepEqual(parseHmVersion('garbage'), { release: null, revision: null });
  });
});

describe('generations: boot.json, os-release, nixos-version, path-info', () => {
  const doc = {
    'org.nixos.bootspec.v1': {
      init: '/nix/store/t-sys/init',
      initrd: '/nix/store/i-initrd/initrd',
      kernel: '/nix/store/k-linux/bzImage',
      kernelParams: ['loglevel=4', 7],
      label: 'NixOS Uakari 24.05.20240601.abcdef0 (Linux 6.6.32)',
      system: 'x86_64-linux',
      toplevel: '/nix/store/t-sys',
    },
    'org.nixos.specialisation.v1': { 'no-gpu': {}, alpha: {} },
    'org.nixos.systemd-boot': { sortKey: 'nixos' },
  };

  it('reads bootspec v1 with its specialisations', () => {
    const spec = parseBootJson(JSON.stringify(doc, null, 2));
    assert.deepEqual(spec, {
      label: 'NixOS Uakari 24.05.20240601.abcdef0 (Linux 6.6.32)',
      kernel: '/nix/store/k-linux/bzImage',
      initrd: '/nix/store/i-initrd/initrd',
      init: '/nix/store/t-sys/init',
      toplevel: '/nix/store/t-sys',
      system: 'x86_64-linux',
      kernelParams: ['loglevel=4'],
      specialisations: ['alpha', 'no-gpu'],
    });
  });

  it('returns null for what is not bootspec', () => {
    assert.equal(parseBootJson('{not json'), null);
    assert.equal(parseBootJson('[]'), null);
    assert.equal(parseBootJson('null'), null);
    assert.equal(parseBootJson('{"org.nixos.bootspec.v1": [1]}'), null);
    const weird = parseBootJson('{"org.nixos.bootspec.v1": {"label": 5, "kernelParams": "x"}}');
    assert.deepEqual(weird?.kernelParams, []);
    assert.equal(weird?.label, null);
  });

  it('reads os-release', () => {
    const os = parseOsRelease('# c\nID=nixos\nVERSION="24.05 (Uakari)"\nBUILD_ID=\'24.05.1.abc\'\nbad line\n=x\n');
    assert.deepEqual(os, { ID: 'nixos', VERSION: '24.05 (Uakari)', BUILD_ID: '24.05.1.abc' });
  });

  it('finds the JSON inside a nixos-version script', () => {
    const script = [
      '#! /bin/sh',
      'case "$1" in',
      '  --json)',
      '    cat <<EOF',
      '{"configurationRevision":"abc123","nixosVersion":"24.05.1.abc","nixpkgsRevision":"ff00"}',
      'EOF',
      '    ;;',
      'esac',
    ].join('\n');
    assert.deepEqual(parseNixosVersionScript(script), {
      nixosVersion: '24.05.1.abc',
      nixpkgsRevision: 'ff00',
      configurationRevision: 'abc123',
    });
    assert.deepEqual(parseNixosVersionScript('{"nixosVersion":"24.05.1.abc","nixpkgsRevision":"ff00"}'), {
      nixosVersion: '24.05.1.abc',
      nixpkgsRevision: 'ff00',
      configurationRevision: null,
    });
    assert.equal(parseNixosVersionScript('\u007fELF binary'), null);
    assert.equal(parseNixosVersionScript('{"nixosVersion": 5}'), null);
    assert.equal(parseNixosVersionScript('{"nixosVersion": "x"'), null);
  });

  it('reads both path-info JSON shapes and ignores junk', () => {
    assert.deepEqual(
      [...parsePathInfoJson('[{"path":"/s/a","closureSize":10},{"path":"/s/b","closureSize":"x"}]')],
      [['/s/a', 10]],
    );
    assert.deepEqual([...parsePathInfoJson('{"/s/a":{"closureSize":5},"/s/b":null}')], [['/s/a', 5]]);
    assert.equal(parsePathInfoJson('error: nope').size, 0);
    assert.equal(parsePathInfoJson('[null, 3]').size, 0);
  });

  it('formats dates as ISO 8601 UTC to the second', () => {
    assert.equal(isoSeconds(Date.UTC(2025, 0, 27, 12, 0, 0) + 999), '2025-01-27T12:00:00Z');
    assert.equal(isoSeconds(Number.NaN), '1970-01-01T00:00:00Z');
  });
});

describe('generations: profiles and JSON', () => {
  it('guesses profile kinds', () => {
    assert.deepEqual(profileRefFor('/nix/var/nix/profiles/system'), {
      path: '/nix/var/nix/profiles/system',
      kind: 'system',
      name: 'system',
    });
    assert.equal(profileRefFor('/home/a/.local/state/nix/profiles/home-manager').kind, 'home-manager');
    assert.equal(profileRefFor('/home/a/.local/state/nix/profiles/profile').kind, 'user');
    assert.equal(profileRefFor('/nix/var/nix/profiles/per-user/a/system').kind, 'other');
    assert.deepEqual(profileRefFor('/nix/var/nix/profiles/system-profiles/web'), {
      path: '/nix/var/nix/profiles/system-profiles/web',
      kind: 'other',
      name: 'web',
    });
  });

  it('tells watchers which entries matter', () => {
    const t = profileWatchTarget(profileRefFor('/p/system'));
    assert.equal(t.directory, '/p');
    assert.deepEqual(
      ['system', 'system-3-link', 'system.lock', 'per-user', 'systemd', 'other-1-link'].filter((e) => t.matches(e)),
      ['system', 'system-3-link'],
    );
    const r = runDirWatchTarget('/run');
    assert.deepEqual(
      ['current-system', 'booted-system', 'user'].filter((e) => r.matches(e)),
      ['current-system', 'booted-system'],
    );
    assert.deepEqual(r.links, ['/run/current-system', '/run/booted-system']);
  });

  it('serialises generations with the contract fields, newest first per profile', () => {
    const json = listingsToJson([
      {
        profile: profileRefFor('/p/system'),
        generations: [gen(9), gen(10, { current: true, specialisations: ['a'] })],
        currentGeneration: 10,
      },
      {
        profile: profileRefFor('/q/home-manager'),
        generations: [gen(1, { kind: 'home-manager' })],
        currentGeneration: 1,
      },
    ]);
    assert.deepEqual(
      json.map((j) => [j.profile, j.generation]),
      [
        ['/p/system', 10],
        ['/p/system', 9],
        ['/q/home-manager', 1],
      ],
    );
    for (const key of [
      'generation',
      'date',
      'nixosVersion',
      'kernelVersion',
      'configurationRevision',
      'specialisations',
      'current',
      'profile',
      'storePath',
      'label',
      'booted',
      'activated',
      'missing',
    ]) {
      assert.ok(key in json[0]!, key);
    }
    assert.equal(json[2]!.kind, 'home-manager');
    assert.equal(json[1]!.kind, 'other');
    // a copy, not the generation's own array
    const g = gen(3, { specialisations: ['x'] });
    generationToJson(g).specialisations.push('y');
    assert.deepEqual(g.specialisations, ['x']);
  });
});

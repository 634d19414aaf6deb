import assert from 'node:assert/strict';
import { HOME_MANAGER_GATES, NIXOS_GATES } from '../../../src/core/lint/data/gates';
import { chainFor, defaultFor, flips, removedIn } from '../../../src/core/lint/gates';
import { compareVersions, NIXOS_RELEASES } from '../../../src/core/lint/releases';

/** The release just before `v` on the table (what a stateVersion one release older looks like). */
function releaseBefore(v: string): string {
  const older = NIXOS_RELEASES.filter((r) => compareVersions(r.version, v) < 0);
  return older[older.length - 1]!.version;
}

describe('lint/rule database: stateVersion gates', () => {
  for (const gate of [...NIXOS_GATES, ...HOME_MANAGER_GATES]) {
    it(`${gate.id}: each threshold on both sides, in every era`, () => {
      assert.ok(gate.chains.length > 0);
      for (const chain of gate.chains) {
        assert.equal(chain.steps[0]!.from, '', 'the first step covers every older stateVersion');
        for (let i = 1; i < chain.steps.length; i++) {
          const step = chain.steps[i]!;
          const prev = chain.steps[i - 1]!;
          assert.ok(compareVersions(step.from, prev.from === '' ? '00.00' : prev.from) > 0, 'steps ascend');
          assert.equal(defaultFor(gate, step.from, chain.era)?.value, step.value, `at ${step.from}`);
          assert.equal(defaultFor(gate, releaseBefore(step.from), chain.era)?.value, prev.value, `below ${step.from}`);
        }
      }
      // Before its first era the gate does not exist.
      assert.equal(chainFor(gate, releaseBefore(gate.chains[0]!.era)), undefined);
    });
  }

  it('PostgreSQL defaults match the module text of each era', () => {
    const pg = NIXOS_GATES.find((g) => g.id === 'postgresql.package')!;
    assert.equal(defaultFor(pg, '23.11', '24.05')?.value, 'postgresql_15');
    assert.equal(defaultFor(pg, '23.05', '24.05')?.value, 'postgresql_14');
    assert.equal(defaultFor(pg, '24.11', '24.11')?.value, 'postgresql_16');
    assert.equal(defaultFor(pg, '26.05', '26.05')?.value, 'postgresql_17');
    assert.equal(defaultFor(pg, '26.11', '26.05')?.value, 'postgresql_17', 'the 26.11 line only exists from 26.11 on');
    assert.equal(defaultFor(pg, '26.11', '26.11')?.value, 'postgresql_18');
    // 21.11 installs point at postgresql_13, which 25.11 no longer has.
    const old = defaultFor(pg, '21.11', '25.11')!;
    assert.equal(old.value, 'postgresql_13');
    assert.equal(removedIn(old, '25.11'), '25.11');
    assert.equal(removedIn(old, '24.11'), undefined);
  });

  it('corrections read from the module text: PostgreSQL throws, the stalwart rename, firefox-syncserver, seerr', () => {
    const pg = NIXOS_GATES.find((g) => g.id === 'postgresql.package')!;
    // 23.11 and 24.11 modules: `"20.03" then mkThrow "11"` (and 9_6, 9_5): not a working default to pin to
    for (const release of ['23.11', '24.11']) {
      assert.equal(removedIn(defaultFor(pg, '20.03', release)!, release), '23.11');
      assert.equal(removedIn(defaultFor(pg, '19.09', release)!, release), '23.11');
      assert.equal(removedIn(defaultFor(pg, '22.05', release)!, release), undefined, 'postgresql_14 still works');
    }
    assert.equal(removedIn(defaultFor(pg, '20.03', '23.05')!, '23.05'), undefined, 'the 23.05 module still had 11');
    const renamed = NIXOS_GATES.find((g) => g.id === 'stalwart.storage.renamed')!;
    assert.equal(chainFor(renamed, '25.11'), undefined, 'services.stalwart does not exist on 25.11');
    assert.ok(chainFor(renamed, '26.05'));
    const ffsync = NIXOS_GATES.find((g) => g.id === 'firefox-syncserver.database.type')!;
    assert.equal(chainFor(ffsync, '26.05'), undefined);
    assert.equal(defaultFor(ffsync, '25.11', '26.11')?.value, 'mysql');
    assert.match(defaultFor(ffsync, '26.05', '26.11')!.value, /must be set/);
    const seerr = NIXOS_GATES.find((g) => g.id === 'seerr.configDir')!;
    assert.ok(seerr.pinnedBy.includes('services.seerr.stateRevision'));
  });

  it('new data gates: sickgear 25.11, sabnzbd.allowConfigWrite 26.05, zfs forceImportRoot 26.11', () => {
    const gate = (id: string) => NIXOS_GATES.find((g) => g.id === id)!;
    assert.match(defaultFor(gate('sickgear.dataDir'), '25.05', '25.11')!.value, /sickbeard/);
    assert.match(defaultFor(gate('sickgear.dataDir'), '25.11', '25.11')!.value, /sickgear/);
    assert.equal(defaultFor(gate('sabnzbd.allowConfigWrite'), '25.11', '26.05')?.value, 'true');
    assert.match(defaultFor(gate('sabnzbd.allowConfigWrite'), '26.05', '26.05')!.value, /^false/);
    assert.equal(defaultFor(gate('zfs.forceImportRoot'), '26.05', '26.11')?.value, 'true');
    assert.equal(defaultFor(gate('zfs.forceImportRoot'), '26.11', '26.11')?.value, 'false');
    assert.equal(chainFor(gate('zfs.forceImportRoot'), '26.05'), undefined, 'only nixpkgs 26.11 has the flip');
  });

  it('Nextcloud defaults move one major per era', () => {
    const nc = NIXOS_GATES.find((g) => g.id === 'nextcloud.package')!;
    assert.equal(defaultFor(nc, '24.05', '24.05')?.value, 'nextcloud28');
    assert.equal(defaultFor(nc, '24.05', '24.11')?.value, 'nextcloud29');
    assert.equal(defaultFor(nc, '25.05', '25.11')?.value, 'nextcloud31');
    assert.equal(defaultFor(nc, '25.11', '26.05')?.value, 'nextcloud32');
    assert.equal(defaultFor(nc, '26.05', '26.05')?.value, 'nextcloud33');
  });

  it('lists what a stateVersion change flips', () => {
    const f = flips(
      NIXOS_GATES,
      { stateVersion: '23.05', release: '24.05' },
      { stateVersion: '24.05', release: '24.05' },
    );
    const ids = f.map((x) => x.gate.id);
    assert.ok(ids.includes('postgresql.package'));
    assert.ok(ids.includes('boot.swraid.enable'));
    assert.ok(!ids.includes('mysql.dataDir'));
    assert.deepEqual(
      flips(NIXOS_GATES, { stateVersion: '24.05', release: '24.05' }, { stateVersion: '24.05', release: '24.05' }),
      [],
    );
  });
});

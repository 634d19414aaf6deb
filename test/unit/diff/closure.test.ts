import assert from 'node:assert/strict';
import {
  closureOf,
  diffClosures,
  parsePathInfos,
  type Closure,
  type PackageChange,
} from '../../../src/core/diff/closure';
import { formatDiffText } from '../../../src/core/diff/format';
import {
  defaultStatefulRules,
  serviceRisks,
  stateVersionFromConfiguration,
  stateVersionRisk,
} from '../../../src/core/diff/risk';

let n = 0;
/** A store path with a fresh valid hash (digits are Nix base32). */
const p = (name: string): string => `/nix/store/${String(n++).padStart(32, '0')}-${name}`;

function closure(root: string, entries: Array<[string, number]>): Closure {
  const paths = new Map(entries);
  let size = 0;
  for (const s of paths.values()) size += s;
  return { root, paths, size };
}

describe('diff: closures', () => {
  it('computes closures from nix path-info JSON of either format', () => {
    const a = '/s/00000000000000000000000000000000-a';
    const b = '/s/11111111111111111111111111111111-b';
    const c = '/s/22222222222222222222222222222222-c';
    const old = JSON.stringify([
      { path: a, narSize: 10, references: [b, a] },
      { path: b, narSize: 20, references: [c] },
      { path: c, narSize: 30, references: [] },
    ]);
    const cl = closureOf(a, parsePathInfos(old));
    assert.equal(cl.size, 60);
    assert.deepEqual([...cl.paths.keys()].sort(), [a, b, c]);
    const newer = JSON.stringify({
      [a]: { narSize: 10, references: ['11111111111111111111111111111111-b'] },
      [b]: { narSize: 20, references: [] },
    });
    assert.equal(closureOf(a, parsePathInfos(newer)).size, 30);
    assert.equal(parsePathInfos('not json').size, 0);
    assert.equal(parsePathInfos('[null, 3, {"path": 1}]').size, 0);
  });

  it('classifies packages as added, removed, upgraded, downgraded or changed, by name', () => {
    n = 0;
    const rootA = p('nixos-system-box-git-1234567-24.05.20240601.abcdef0');
    const rootB = p('nixos-system-box-24.11.20241201.abcdef0-7654321');
    const a = closure(rootA, [
      [rootA, 100],
      [p('postgresql-15.7'), 1000],
      [p('nextcloud-28.0.1'), 500],
      [p('php-8.3.14'), 50],
      [p('removed-1.0'), 10],
      [p('etc'), 5],
      [p('same-1.0'), 7],
    ]);
    n = 20;
    const same = [...a.paths.keys()].find((k) => k.endsWith('-same-1.0'))!;
    const b = closure(rootB, [
      [rootB, 120],
      [p('postgresql-16.6'), 1100],
      [p('nextcloud-30.0.4'), 600],
      [p('php-8.2.20'), 50],
      [p('added-2.0'), 20],
      [p('etc'), 6],
      [same, 7],
    ]);
    const d = diffClosures(a, b);
    const kinds = Object.fromEntries(d.packages.map((x) => [x.name, x.kind]));
    assert.deepEqual(kinds, {
      added: 'added',
      etc: 'changed',
      nextcloud: 'upgraded',
      'nixos-system-box': 'upgraded',
      php: 'downgraded',
      postgresql: 'upgraded',
      removed: 'removed',
    });
    assert.deepEqual(d.counts, { added: 1, removed: 1, upgraded: 3, downgraded: 1, changed: 1 });
    assert.equal(d.sizeDelta, b.size - a.size);
    assert.equal(d.pathsAdded, 6);
    assert.equal(d.pathsRemoved, 6);
    const pg = d.packages.find((x) => x.name === 'postgresql')!;
    assert.deepEqual([pg.before, pg.after, pg.sizeDelta], [['15.7'], ['16.6'], 100]);

    const risks = serviceRisks(d.packages);
    assert.deepEqual(
      risks.map((r) => [r.subject, r.kind, r.severity]),
      [
        ['nextcloud', 'service-major-upgrade', 'error'],
        ['postgresql', 'service-major-upgrade', 'warning'],
      ],
    );
    const text = formatDiffText({
      from: {
        storePath: rootA,
        generation: 1,
        label: null,
        nixosVersion: null,
        kernelVersion: '6.6.1',
        kernel: null,
        initrd: null,
        kernelModules: null,
        stateVersion: '23.05',
        host: null,
      },
      to: {
        storePath: rootB,
        generation: 2,
        label: null,
        nixosVersion: null,
        kernelVersion: '6.6.2',
        kernel: null,
        initrd: null,
        kernelModules: null,
        stateVersion: '24.05',
        host: null,
      },
      closure: d,
      kernel: { before: '6.6.1', after: '6.6.2', changed: true, rebootNeeded: true },
      stateVersion: { before: '23.05', after: '24.05', changed: true },
      reach: [{ subject: 'sshd', cutsOff: true, message: 'sshd moves from port 22 to 2222' }],
      risks,
      units: null,
      warnings: [],
    });
    assert.match(text, /Upgraded \(3\):/);
    assert.match(text, /postgresql +15\.7 → 16\.6/);
    assert.match(text, /Kernel: 6\.6\.1 → 6\.6\.2 \(reboot needed\)/);
    assert.ok(text.indexOf('Risky changes') < text.indexOf('Upgraded'), 'risky changes come first');
    assert.match(text, /\[cut off\] sshd moves from port 22 to 2222/);
    assert.ok(text.indexOf('cut you off') < text.indexOf('Risky changes'), 'what cuts you off comes before all');
  });

  it('reads stateVersion from a copied configuration.nix and flags a change', () => {
    assert.equal(
      stateVersionFromConfiguration('{ system.stateVersion = "23.05"; # Did you read the comment?\n}'),
      '23.05',
    );
    assert.equal(stateVersionFromConfiguration('{ }'), null);
    assert.equal(stateVersionFromConfiguration(null), null);
    assert.equal(stateVersionRisk('23.05', '23.05'), null);
    assert.equal(stateVersionRisk(null, '23.05'), null);
    assert.equal(stateVersionRisk('23.05', '24.05')?.kind, 'stateversion-changed');
  });
});

describe('diff: risky changes from the lint rule database', () => {
  const change = (name: string, before: string, after: string): PackageChange => ({
    name,
    kind: 'upgraded',
    before: [before],
    after: [after],
    sizeBefore: 0,
    sizeAfter: 0,
    sizeDelta: 0,
  });
  it('knows the services of src/core/lint, with their idea of a major version', () => {
    const rules = defaultStatefulRules();
    const services = rules.map((r) => r.service);
    assert.ok(services.includes('PostgreSQL') && services.includes('MariaDB') && services.includes('Nextcloud'));
    assert.ok(services.includes('keycloak'), 'built-in entries fill what the database lacks');
    const risks = serviceRisks([
      change('mariadb', '10.6.5', '10.11.6'),
      change('mariadb-server', '10.11.6', '10.11.8'),
      change('postgresql', '15.7', '15.8'),
      change('nextcloud', '29.0.1', '30.0.2'),
      change('mongodb', '6.0.1', '8.0.0'),
    ]);
    assert.deepEqual(
      risks.map((r) => [r.subject, r.severity]),
      [
        ['mariadb', 'warning'],
        ['nextcloud', 'information'],
        ['mongodb', 'error'],
      ],
    );
    const down = serviceRisks([{ ...change('postgresql', '16.1', '15.8'), kind: 'downgraded' }]);
    assert.equal(down[0]?.kind, 'service-major-downgrade');
  });
});

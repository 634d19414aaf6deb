/**
 * The Nextcloud planner and executor against recorded calls: no Nextcloud runs on the test machines, so the
 * executor is driven by a runner that answers each `nextcloud-occ` command with output shaped like the real one
 * (`occ status --output=json` prints installed, version, versionstring, edition, maintenance, needsDbUpgrade, …).
 */
import assert from 'node:assert/strict';
import type { PackageChange } from '../../../src/core/diff/closure';
import { serviceRisks } from '../../../src/core/diff/risk';
import { proposeTransitions } from '../../../src/core/transitions/detect';
import {
  OCC,
  occStatusVersion,
  planNextcloud,
  runNextcloud,
  type CommandOutcome,
  type NextcloudPackage,
} from '../../../src/core/transitions/nextcloud';

const PACKAGES: NextcloudPackage[] = [
  { attribute: 'nextcloud28', version: '28.0.14' },
  { attribute: 'nextcloud29', version: '29.0.16' },
  { attribute: 'nextcloud30', version: '30.0.10' },
  { attribute: 'nextcloud31', version: '31.0.4' },
];

function status(version: string, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ installed: true, version: `${version}.1`, versionstring: version, edition: '', maintenance: false, needsDbUpgrade: false, productname: 'Nextcloud', extendedSupport: false, ...extra })}\n`;
}

/** A target whose occ answers like a real instance: the version follows the switched package after occ upgrade. */
function recordingTarget(start: string, failUpgradeTo: number | null = null) {
  const calls: string[] = [];
  let running = start;
  let installed = start;
  return {
    calls,
    exec: {
      async switchTo(pkg: NextcloudPackage): Promise<void> {
        calls.push(`switch ${pkg.attribute}`);
        installed = pkg.version;
      },
      async run(argv: string[]): Promise<CommandOutcome> {
        calls.push(argv.join(' '));
        if (argv[1] === 'upgrade') {
          if (Number(installed.split('.')[0]) === failUpgradeTo)
            return { exitCode: 1, stdout: '', stderr: 'Exception: Database error when running migration' };
          running = installed;
          return { exitCode: 0, stdout: `Update successful\n`, stderr: '' };
        }
        if (argv[1] === 'status')
          return { exitCode: 0, stdout: status(running, { needsDbUpgrade: running !== installed }), stderr: '' };
        return { exitCode: 0, stdout: '', stderr: '' };
      },
    },
  };
}

function change(name: string, kind: PackageChange['kind'], before: string, after: string): PackageChange {
  return { name, kind, before: [before], after: [after], sizeBefore: 0, sizeAfter: 0, sizeDelta: 0 };
}

describe('transitions: Nextcloud one major at a time', () => {
  it('plans 28 → 31 through 29 and 30 with occ upgrade between, and runs it', async () => {
    const r = planNextcloud('28.0.14', '31.0.4', PACKAGES, ['/run/current-system/sw/bin/nextcloud-backup']);
    assert.ok(r.ok);
    assert.deepEqual(
      r.transition.steps.map((s) => s.id),
      ['check', 'maintenance-on', 'backup', 'upgrade-29', 'upgrade-30', 'upgrade-31', 'maintenance-off'],
    );
    assert.match(r.transition.plan.summary, /28\.0\.14 → 31\.0\.4 one major at a time \(29 → 30 → 31\)/);
    const target = recordingTarget('28.0.14');
    const report = await runNextcloud(r.transition, target.exec);
    assert.deepEqual(report, { ok: true, done: r.transition.steps.map((s) => s.id) });
    assert.deepEqual(target.calls, [
      `${OCC} status --output=json`,
      `${OCC} maintenance:mode --on`,
      '/run/current-system/sw/bin/nextcloud-backup',
      'switch nextcloud29',
      `${OCC} upgrade`,
      `${OCC} status --output=json`,
      'switch nextcloud30',
      `${OCC} upgrade`,
      `${OCC} status --output=json`,
      'switch nextcloud31',
      `${OCC} upgrade`,
      `${OCC} status --output=json`,
      `${OCC} maintenance:mode --off`,
      `${OCC} status --output=json`,
    ]);
  });

  it('refuses a skip when an intermediate major has no package, and a downgrade', () => {
    const gap = planNextcloud(
      '28.0.14',
      '31.0.4',
      PACKAGES.filter((p) => p.attribute !== 'nextcloud30'),
    );
    assert.deepEqual(gap, {
      ok: false,
      problems: ['no Nextcloud 30 package in this nixpkgs: the upgrade 28 → 31 cannot skip it'],
    });
    const down = planNextcloud('30.0.1', '29.0.16', PACKAGES);
    assert.equal(down.ok, false);
    assert.match(!down.ok ? down.problems[0]! : '', /cannot go down from 30 to 29/);
  });

  it('stops at a failing occ upgrade and says where; a resume skips the finished steps', async () => {
    const r = planNextcloud('28.0.14', '30.0.10', PACKAGES, ['/bin/backup']);
    assert.ok(r.ok);
    const target = recordingTarget('28.0.14', 30);
    const report = await runNextcloud(r.transition, target.exec);
    assert.equal(report.ok, false);
    assert.equal(report.failedStep, 'upgrade-30');
    assert.match(report.error!, /nextcloud-occ upgrade exited with 1: Exception: Database error/);
    assert.deepEqual(report.done, ['check', 'maintenance-on', 'backup', 'upgrade-29']);
    // After the cause is fixed, the run continues from upgrade-30 (the instance now runs 29).
    const fixed = recordingTarget('29.0.16');
    const resumed = await runNextcloud(r.transition, fixed.exec, report.done);
    assert.equal(resumed.ok, true);
    assert.equal(fixed.calls[0], 'switch nextcloud30');
  });

  it('a status that still needs a database upgrade, or shows another version, fails the step', async () => {
    const r = planNextcloud('28.0.14', '29.0.16', PACKAGES, ['/bin/backup']);
    assert.ok(r.ok);
    const target = recordingTarget('28.0.14');
    target.exec.run = async (argv) =>
      argv[1] === 'status'
        ? { exitCode: 0, stdout: status('28.0.14'), stderr: '' }
        : { exitCode: 0, stdout: '', stderr: '' };
    const report = await runNextcloud(r.transition, target.exec);
    assert.equal(report.failedStep, 'upgrade-29');
    assert.match(report.error!, /reports 28\.0\.14, expected 29\.0\.16/);
    assert.equal(occStatusVersion('garbage'), null);
    assert.deepEqual(occStatusVersion(`Nextcloud is in maintenance\n${status('29.0.16', { maintenance: true })}`), {
      version: '29.0.16',
      maintenance: true,
      needsDbUpgrade: false,
    });
    const noBackup = planNextcloud('28.0.14', '29.0.16', PACKAGES);
    assert.ok(noBackup.ok);
    const nb = await runNextcloud(noBackup.transition, recordingTarget('28.0.14').exec);
    assert.equal(nb.failedStep, 'backup');
  });

  it('proposes transitions from the diff risks: PostgreSQL with NixOS data directories, Nextcloud by major', () => {
    const risks = serviceRisks([
      change('postgresql', 'upgraded', '15.7', '17.2'),
      change('nextcloud', 'upgraded', '28.0.14', '30.0.10'),
      change('hello', 'upgraded', '2.10', '2.12'),
    ]);
    const proposals = proposeTransitions(risks);
    assert.deepEqual(
      proposals.map((p) => [p.kind, p.fromMajor, p.toMajor, p.direction, p.oldData, p.newData]),
      [
        ['postgresql', 15, 17, 'upgrade', '/var/lib/postgresql/15', '/var/lib/postgresql/17'],
        ['nextcloud', 28, 30, 'upgrade', undefined, undefined],
      ],
    );
    const down = proposeTransitions(serviceRisks([change('postgresql', 'downgraded', '16.1', '15.7')]));
    assert.equal(down[0]!.method, 'dump and restore');
  });
});

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hooksForHost, NO_SWITCH_HOOKS, planSwitchTransitions } from '../../../src/core/plan/transition-switch';
import {
  parsePostgresUnit,
  proposeFromUnits,
  proposeSwitchTransitions,
  readPostgresUnits,
  type TransitionProposal,
} from '../../../src/core/transitions/detect';
import type { Risk } from '../../../src/core/diff/risk';

const PG: TransitionProposal = {
  kind: 'postgresql',
  from: '15.7',
  to: '17.2',
  fromMajor: 15,
  toMajor: 17,
  direction: 'upgrade',
  method: 'pg_upgrade (copy mode)',
  oldData: '/var/lib/postgresql/15',
  newData: '/var/lib/postgresql/17',
};
const OLD = { bin: '/nix/store/aaa-postgresql-and-plugins-15.7/bin', data: '/var/lib/postgresql/15' };
const NEW = { bin: '/nix/store/bbb-postgresql-and-plugins-17.2/bin', data: '/var/lib/postgresql/17' };
const CLI = ['/run/current-system/sw/bin/nixos-generations'];

describe('plan: transitions inside a safe switch', () => {
  it("reads NixOS' postgresql.service: the package's bin and PGDATA", () => {
    const unit = [
      '[Service]',
      'Environment="LOCALE_ARCHIVE=/nix/store/x-glibc-locales/lib/locale/locale-archive" "PGDATA=/var/lib/postgresql/15"',
      'ExecStart=/nix/store/aaa-postgresql-and-plugins-15.7/bin/postgres',
      'ExecStartPre=/nix/store/ccc-unit-script-postgresql-pre-start/bin/postgresql-pre-start',
    ].join('\n');
    assert.deepEqual(parsePostgresUnit(unit), OLD);
    assert.deepEqual(parsePostgresUnit('garbage\n\0\nExecStart=relative/postgres'), { bin: null, data: null });
  });

  it("reads both systems' units on the target in one call; a system without PostgreSQL gives nulls", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-units-'));
    try {
      const oldSystem = path.join(root, "old system's $(x)");
      fs.mkdirSync(path.join(oldSystem, 'etc/systemd/system'), { recursive: true });
      fs.writeFileSync(
        path.join(oldSystem, 'etc/systemd/system/postgresql.service'),
        `[Service]\nEnvironment="PGDATA=${OLD.data}"\nExecStart=${OLD.bin}/postgres\n`,
      );
      const units = await readPostgresUnits({ kind: 'local' }, oldSystem, path.join(root, 'missing'));
      assert.deepEqual(units, { old: OLD, new: { bin: null, data: null } });
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('proposes a PostgreSQL transition from the two units alone (the CLI has no closure diff)', () => {
    const p = proposeFromUnits(OLD, NEW)!;
    assert.deepEqual(
      [p.fromMajor, p.toMajor, p.direction, p.oldData, p.newData],
      [15, 17, 'upgrade', OLD.data, NEW.data],
    );
    assert.equal(proposeFromUnits(NEW, OLD)!.direction, 'downgrade');
    assert.equal(proposeFromUnits(OLD, OLD), null);
    assert.equal(proposeFromUnits(OLD, { bin: null, data: null }), null);
    // no version in the store name: the data directories tell
    const plain = proposeFromUnits(
      { bin: '/opt/pg/bin', data: '/var/lib/postgresql/14' },
      { bin: '/opt/pg2/bin', data: '/var/lib/postgresql/16' },
    )!;
    assert.deepEqual([plain.fromMajor, plain.toMajor], [14, 16]);
  });

  it('a switch takes PostgreSQL from the units when they were read (the closure alone may hold only client tools)', () => {
    const risk = (subject: string, before: string, after: string): Risk => ({
      kind: 'service-major-upgrade',
      severity: 'warning',
      message: `${subject} ${before} → ${after}`,
      subject,
      before,
      after,
    });
    const risks = [risk('postgresql', '15.7', '17.2'), risk('nextcloud', '29.0.1', '30.0.2')];
    // no postgresql.service on either side: nothing to migrate, Nextcloud still proposed from the closure
    const none = { bin: null, data: null };
    assert.deepEqual(
      proposeSwitchTransitions(risks, { old: none, new: none }).map((p) => p.kind),
      ['nextcloud'],
    );
    // the units decide the majors and the data directories
    const fromUnits = proposeSwitchTransitions(risks, { old: OLD, new: NEW }).find((p) => p.kind === 'postgresql')!;
    assert.equal(fromUnits.oldData, '/var/lib/postgresql/15');
    assert.equal(fromUnits.toMajor, 17);
    // units unreadable: the closure's word stands (the planner then refuses what it cannot find)
    assert.deepEqual(
      proposeSwitchTransitions(risks, null).map((p) => p.kind),
      ['postgresql', 'nextcloud'],
    );
    assert.deepEqual(proposeSwitchTransitions([], null), []);
  });

  it('runs the migration before the activation with the hooks, the recovery after a revert', () => {
    const plan = planSwitchTransitions({
      proposals: [PG],
      postgres: { old: OLD, new: NEW },
      hooks: { beforeSwitch: [['/bin/backup', 'a b']], afterSwitch: [['/bin/check']], onRevert: [['/bin/notify']] },
      cli: CLI,
    });
    assert.deepEqual(plan.refusals, []);
    const c = plan.commands!;
    assert.deepEqual(c.before.slice(0, 3), [CLI[0], 'transition', 'postgresql']);
    const flag = (name: string): string => c.before[c.before.indexOf(name) + 1]!;
    assert.equal(flag('--old-bin'), OLD.bin);
    assert.equal(flag('--new-data'), NEW.data);
    assert.equal(flag('--method'), 'upgrade');
    assert.equal(flag('--run-as'), 'postgres');
    assert.equal(flag('--journal'), '/var/lib/nixos-generations/transitions/postgresql.json');
    assert.ok(c.before.includes('--yes'));
    const hooksBefore = c.before.flatMap((w, i) => (c.before[i - 1] === '--hook-before' ? [JSON.parse(w)] : []));
    assert.deepEqual(hooksBefore[1], ['/bin/backup', 'a b'], 'the user hook after the service stop');
    assert.match(hooksBefore[0].join(' '), /systemctl "\$1" postgresql.service; fi nixgen-postgresql-service stop$/);
    assert.deepEqual(c.revert, [CLI[0], 'transition', 'postgresql', '--revert', '--journal', flag('--journal')]);
    assert.deepEqual(c.after.slice(1, 5), ['transition', 'hooks', '--phase', 'after']);
    assert.equal(JSON.parse(c.after[c.after.length - 1]!)[0], '/bin/check');
    assert.ok(c.timeoutSeconds >= 600);
    assert.deepEqual(plan.planArgv!.slice(-2), ['--plan', '--json']);
    assert.match(plan.lines.join('\n'), /before the new system is activated/);
    assert.match(plan.lines.join('\n'), /Hooks on the target.*\/bin\/backup a b/);
  });

  it('a downgrade goes by dump and restore; the target plan is shown as it came, and sets the time allowed', () => {
    const plan = planSwitchTransitions({
      proposals: [{ ...PG, from: '17.2', to: '15.7', fromMajor: 17, toMajor: 15, direction: 'downgrade' }],
      postgres: { old: NEW, new: OLD },
      hooks: NO_SWITCH_HOOKS,
      cli: CLI,
      targetPlan: {
        kind: 'postgresql',
        summary: 'PostgreSQL 17 → 15 by dump and restore (2.0 GiB of data)',
        steps: [{ id: 'migrate', title: 'Restore', does: 'x', seconds: 1000, diskBytes: 1, undo: 'y' }],
        notes: [],
      },
    });
    const c = plan.commands!;
    assert.equal(c.before[c.before.indexOf('--method') + 1], 'dump');
    assert.equal(c.timeoutSeconds, 3000);
    assert.match(plan.lines[0]!, /^Transition: PostgreSQL 17 → 15 by dump and restore/);
    assert.deepEqual(c.after, []);
  });

  it('refuses what cannot be migrated: no package found, one data directory, a skipped or reversed Nextcloud major', () => {
    const missing = planSwitchTransitions({
      proposals: [PG],
      postgres: { old: OLD, new: { bin: null, data: null } },
      hooks: NO_SWITCH_HOOKS,
      cli: CLI,
    });
    assert.match(missing.refusals[0]!, /new system's PostgreSQL package.*empty data directory/);
    assert.equal(missing.commands, undefined);
    const same = planSwitchTransitions({
      proposals: [PG],
      postgres: { old: OLD, new: { ...NEW, data: OLD.data } },
      hooks: NO_SWITCH_HOOKS,
      cli: CLI,
    });
    assert.match(same.refusals[0]!, /same data directory/);
    const nc = (from: number, to: number): TransitionProposal => ({
      kind: 'nextcloud',
      from: `${from}.0.1`,
      to: `${to}.0.2`,
      fromMajor: from,
      toMajor: to,
      direction: to > from ? 'upgrade' : 'downgrade',
      method: '',
    });
    const skip = planSwitchTransitions({ proposals: [nc(28, 30)], hooks: NO_SWITCH_HOOKS, cli: CLI });
    assert.match(skip.refusals[0]!, /skips 1 major\(s\).*28 → 29 → 30/);
    assert.match(
      planSwitchTransitions({ proposals: [nc(30, 29)], hooks: NO_SWITCH_HOOKS, cli: CLI }).refusals[0]!,
      /downgrade/,
    );
    const one = planSwitchTransitions({ proposals: [nc(29, 30)], hooks: NO_SWITCH_HOOKS, cli: CLI });
    assert.deepEqual(one.refusals, []);
    assert.match(one.lines[0]!, /occ upgrade/);
  });

  it('hooks alone: each phase through `transition hooks`, journaled; nothing at all without hooks', () => {
    const plan = planSwitchTransitions({
      proposals: [],
      hooks: { beforeSwitch: [['/bin/a']], afterSwitch: [], onRevert: [['/bin/r']] },
      cli: CLI,
    });
    assert.deepEqual(plan.commands!.before, [
      CLI[0],
      'transition',
      'hooks',
      '--phase',
      'before',
      '--journal',
      '/var/lib/nixos-generations/transitions/hooks.json',
      '--hook',
      '["/bin/a"]',
    ]);
    assert.equal(plan.commands!.revert[4], 'revert');
    const none = planSwitchTransitions({ proposals: [], hooks: NO_SWITCH_HOOKS, cli: CLI });
    assert.equal(none.none, true);
    assert.equal(none.commands, undefined);
  });

  it('reads hooks per host from the setting; "*" applies everywhere; bad entries are skipped with a reason', () => {
    const value = {
      '*': { beforeSwitch: [['/run/current-system/sw/bin/true']] },
      'root@db1': { onRevert: [['/bin/notify', 'x']], afterSwitch: [['relative']], beforeSwitch: 'nope' },
      other: { beforeSwitch: [['/bin/other']] },
    };
    const { hooks, problems } = hooksForHost(value, 'root@db1');
    assert.deepEqual(hooks, {
      beforeSwitch: [['/run/current-system/sw/bin/true']],
      afterSwitch: [],
      onRevert: [['/bin/notify', 'x']],
    });
    assert.equal(problems.length, 2);
    assert.match(problems.join('\n'), /afterSwitch\[0\] skipped: .*absolute path/);
    assert.deepEqual(hooksForHost([], 'x').problems, ['transitions.hooks must be an object keyed by host']);
    assert.deepEqual(hooksForHost(undefined, 'x').hooks, NO_SWITCH_HOOKS);
  });
});

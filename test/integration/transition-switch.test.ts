/**
 * A PostgreSQL transition inside a safe switch, end to end: the planner's commands (core/plan/transition-switch)
 * run by the real watchdog on the target (real sshd on loopback, fixture generations whose switch-to-configuration
 * records its calls), migrating real clusters (15 → 16 by dump and restore, real rows) before the activation.
 * Kept: the new cluster holds every row. Reverted by a failing afterSwitch hook: the old cluster is as it was, the
 * new data directory is moved aside (not deleted), the hooks and the recovery are in the journal.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { planSwitchTransitions, type SwitchHooks } from '../../src/core/plan/transition-switch';
import { safeSwitch, type Decision, type Target } from '../../src/core/safeswitch';
import { readJournal } from '../../src/core/transitions/journal';
import type { TransitionProposal } from '../../src/core/transitions/detect';
import { buildFixture, type NixFixture } from '../fixtures/fixture';
import { CLI, DEBIAN_15, oldCluster, pgBin, PG_TEST_USER, rowsOf, snapshotOf, type TestCluster } from '../lib/postgres';
import { startSshd, type TestSshd } from '../lib/sshd';

const PROPOSAL: TransitionProposal = {
  kind: 'postgresql',
  from: '15.10',
  to: '16.6',
  fromMajor: 15,
  toMajor: 16,
  direction: 'upgrade',
  method: 'dump and restore',
};

describe('a PostgreSQL transition inside safe switch (real servers, real watchdog over ssh)', function () {
  this.timeout(600_000);
  let fx: NixFixture;
  let sshd: TestSshd;
  let target: Target;
  const dirs: string[] = [];

  before(async () => {
    [fx, sshd] = await Promise.all([
      buildFixture({ generations: 3, current: 2, activated: 2, booted: 2, missing: 0 }),
      startSshd(),
    ]);
    target = { kind: 'ssh', host: sshd.destination, port: sshd.port, sshArgs: sshd.clientArgs };
  });
  after(async () => {
    await sshd?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  async function run(label: string, port: number, hooks: SwitchHooks, decision: Decision) {
    const { dir, old, before } = oldCluster(15, label, port);
    dirs.push(dir);
    fs.chmodSync(dir, 0o755);
    const newData = path.join(dir, 'data-16');
    const journalDir = path.join(dir, 'journal');
    const plan = planSwitchTransitions({
      proposals: [PROPOSAL],
      postgres: { old: { bin: old.bin, data: old.data }, new: { bin: pgBin(16), data: newData } },
      hooks,
      cli: [process.execPath, CLI],
      postgresUser: PG_TEST_USER,
      journalDir,
      // Debian's pg_dump 15 (the npm 16 package ships only the server); method dump: the upgrade tool of 16 is not here
      postgresMethod: 'dump',
      postgresOptions: ['--client-bin', DEBIAN_15, '--port', String(port), '--backup-dir', path.join(dir, 'backups')],
    });
    assert.deepEqual(plan.refusals, []);
    const stcLog = path.join(dir, 'stc.log');
    const result = await safeSwitch({
      target,
      toplevel: fs.realpathSync(`${fx.profile}-3-link`),
      profile: fx.profile,
      runDir: fx.runDir,
      confirmSeconds: 60,
      stateDir: path.join(dir, 'state'),
      launcher: 'detached',
      pollMs: 200,
      env: { ...fx.nixVars, NIXOS_FIXTURE_STC_LOG: stcLog },
      transition: plan.commands!,
      decide: async () => decision,
    });
    const journal = readJournal(path.join(journalDir, 'postgresql.json'))!;
    const fresh: TestCluster = { major: 16, bin: pgBin(16), data: newData, socketDir: dir, port: port + 5 };
    const activations = fs
      .readFileSync(stcLog, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ').slice(1).join(' '));
    return { dir, old, before, result, journal, fresh, newData, activations };
  }

  it('kept: migrated before the activation, verified, the new cluster holds every row', async () => {
    const t = await run('tsw-keep', 55610, { beforeSwitch: [['/bin/true']], afterSwitch: [], onRevert: [] }, 'keep');
    assert.equal(t.result.outcome, 'kept', t.result.reason);
    assert.equal(t.journal.state, 'done');
    assert.ok(rowsOf(t.before) > 33_000);
    assert.deepEqual(snapshotOf(t.fresh), t.before, 'the new cluster holds every row');
    assert.deepEqual(snapshotOf(t.old), t.before, 'the old cluster is kept as it was');
    assert.deepEqual(
      t.journal.hooks.map((h) => [h.phase, h.argv[0], h.exitCode]),
      [
        ['before', 'sh', 0],
        ['before', '/bin/true', 0],
      ],
    );
    const events = t.result.events.map((e) => e.event);
    assert.ok(events.indexOf('transition-done') < events.indexOf('activating'), events.join(' '));
    assert.equal(t.activations.length, 2, 'test, then boot when kept');
  });

  it('a failing afterSwitch hook reverts: old cluster intact, the new directory moved aside, all journaled', async () => {
    const t = await run(
      'tsw-revert',
      55630,
      { beforeSwitch: [], afterSwitch: [['/bin/false']], onRevert: [['/bin/echo', 'reverted']] },
      'keep',
    );
    assert.equal(t.result.outcome, 'reverted', t.result.reason);
    assert.match(t.result.reason, /transition after activation failed/);
    assert.deepEqual(snapshotOf(t.old), t.before, 'the old cluster holds every row, as before');
    assert.equal(fs.existsSync(t.newData), false, 'the new data directory is no longer where NixOS looks');
    assert.equal(t.journal.state, 'recovered');
    const aside = t.journal.facts.newDataMovedAside as string;
    assert.ok(aside && fs.existsSync(path.join(aside, 'PG_VERSION')), 'moved aside, not deleted');
    assert.deepEqual(
      t.journal.hooks.map((h) => [h.phase, h.argv[0], h.exitCode]),
      [
        ['before', 'sh', 0],
        ['after', '/bin/false', 1],
        ['revert', 'sh', 0],
        ['revert', '/bin/echo', 0],
      ],
    );
    const events = t.result.events.map((e) => e.event);
    assert.deepEqual(events.slice(-3), ['reverting', 'reverted', 'transition-reverted']);
  });
});

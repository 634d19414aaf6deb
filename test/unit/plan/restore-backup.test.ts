import assert from 'node:assert/strict';
import { runProcess } from '../../../src/core/exec/process';
import { backupChoices, planRestore, POSTGRES_JOURNAL } from '../../../src/core/plan/restore-backup';
import { parseJournal, type JournalBackup, type JournalData } from '../../../src/core/transitions/journal';

const backup = (id: string, createdAt: string, kind: JournalBackup['kind'] = 'datadir'): JournalBackup => ({
  id,
  kind,
  path: `/var/lib/nixos-generations/backups/postgresql/${id}/data-15`,
  restores: 'postgresql 15',
  target: '/var/lib/postgresql/15',
  bytes: 48 * 1024 * 1024,
  createdAt,
});

function journal(backups: JournalBackup[]): JournalData {
  return parseJournal(
    JSON.stringify({ version: 1, id: 'postgresql-15-to-16-x', kind: 'postgresql', steps: [], backups }),
    POSTGRES_JOURNAL,
  );
}

describe('plan: restore a transition backup', () => {
  it('offers the recorded backups newest first, or says why there is none', () => {
    const { choices, none } = backupChoices(
      journal([backup('a', '2026-11-01T10:00:00.000Z'), backup('b', '2026-12-01T09:30:00.000Z', 'dump')]),
    );
    assert.equal(none, null);
    assert.deepEqual(
      choices.map((c) => c.backup.id),
      ['b', 'a'],
    );
    assert.equal(choices[0]!.label, '$(history) b');
    assert.equal(choices[0]!.description, 'postgresql 15 · dump · 48 MiB · 2026-12-01 09:30');
    assert.equal(choices[1]!.detail, 'into /var/lib/postgresql/15');
    assert.match(backupChoices(null).none!, /no transition journal at \/var\/lib\/nixos-generations/);
    assert.match(backupChoices(journal([])).none!, /records no backup/);
    assert.throws(() => parseJournal('{"version":2}', 'x'), /not a transition journal/);
  });

  it('says what it restores and runs the CLI after stopping the service; the id travels as one word', async () => {
    const b = backup("it's; $(touch x)", '2026-12-01T09:30:00.000Z');
    const plan = planRestore({
      backup: b,
      journalFile: POSTGRES_JOURNAL,
      cli: ['/bin/echo'],
      where: 'db1',
      elevate: [],
    });
    assert.equal(plan.confirm.message, `Restore postgresql 15 on db1 from ${b.id}?`);
    assert.match(plan.confirm.detail, /stopped first.*a copy of the data directory.*moved aside, not deleted/s);
    assert.equal(plan.confirm.action, 'Restore');
    // The stop is skipped where systemd has no postgresql.service (here); then the CLI gets its words exactly.
    assert.equal(plan.argv[0], 'sh');
    const r = await runProcess(['/bin/sh', ...plan.argv.slice(1)], { env: { PATH: '/nonexistent' } });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(
      r.stdout.trim(),
      `transition postgresql --restore --backup ${b.id} --journal ${POSTGRES_JOURNAL} --yes`,
    );
  });
});

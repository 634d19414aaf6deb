/**
 * `nixos-generations transition postgresql` as a process against real PostgreSQL servers of four majors, with real
 * rows: dump and restore 14 → 15, 15 → 16, 15 → 17 and the downgrade 15 → 14, a real pg_upgrade 14 → 15 (with a
 * prepared old bindir, see test/lib/postgres.ts), refusals, a failing upgrade tool, a failing hook, a killed run
 * resumed from its journal, and restoring the last backup.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runProcess } from '../../src/core/exec/process';
import { readJournal } from '../../src/core/transitions/journal';
import {
  baseArgs,
  CLI,
  DEBIAN_15,
  killCli,
  oldCluster,
  pgBin,
  preparedOld14Bindir,
  psql,
  readJournalQuietly,
  rowsOf,
  snapshotOf,
  startCluster,
  stopCluster,
  transitionCli,
  type TestCluster,
} from '../lib/postgres';

describe('transition postgresql (real servers 14, 15, 16, 17)', function () {
  this.timeout(600_000);
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  for (const [from, to, port] of [
    [14, 15, 55410],
    [15, 16, 55420],
    [15, 17, 55430],
    [15, 14, 55440],
  ] as const) {
    it(`${from} → ${to} by dump and restore: every row arrives, the old directory is kept as it was`, async () => {
      const { dir, old, before } = oldCluster(from, `pg${from}${to}`, port);
      dirs.push(dir);
      assert.ok(rowsOf(before) > 33_000, 'the seed made real rows');
      const r = await transitionCli([...baseArgs(dir, old, to, port), '--method', 'dump', '--json']);
      assert.equal(r.exitCode, 0, r.stderr);
      const out = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as {
        ok: boolean;
        state: string;
        verified: { rows: number };
      };
      assert.equal(out.ok, true);
      assert.equal(out.state, 'done');
      const fresh: TestCluster = {
        major: to,
        bin: pgBin(to),
        data: path.join(dir, `data-${to}`),
        socketDir: dir,
        port: port + 5,
      };
      assert.equal(fs.readFileSync(path.join(fresh.data, 'PG_VERSION'), 'utf8').trim(), String(to));
      assert.deepEqual(snapshotOf(fresh), before, 'the new cluster holds the same rows and contents');
      assert.deepEqual(snapshotOf(old), before, 'the old cluster still holds everything');
      const journal = readJournal(path.join(dir, 'journal', 'postgresql.json'))!;
      assert.equal(journal.state, 'done');
      assert.deepEqual(
        journal.steps.map((s) => s.status),
        ['done', 'done', 'done', 'done', 'done', 'done', 'done'],
      );
      assert.equal(journal.backups.length, 1);
      assert.equal(journal.backups[0]!.kind, 'dump');
      const dump = journal.backups[0]!.path;
      assert.deepEqual(fs.readdirSync(dump).sort(), [
        'databases.json',
        'db-1.sql',
        'db-2.sql',
        'db-3.sql',
        'globals.sql',
      ]);
      assert.ok(fs.statSync(path.join(dump, 'db-2.sql')).size > 100_000, 'the dump holds the rows');
      assert.equal(fs.statSync(path.join(dump, 'db-2.sql')).mode & 0o777, 0o600);
    });
  }

  it('14 → 15 by a real pg_upgrade (prepared old bindir), then --restore puts the backup back', async () => {
    const port = 55450;
    const { dir, old, before } = oldCluster(14, 'pgup', port);
    dirs.push(dir);
    const bin14 = preparedOld14Bindir(path.join(dir, 'bin14'));
    const args = baseArgs(dir, { ...old, bin: bin14 }, 15, port);
    const r = await transitionCli([...args, '--method', 'upgrade']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /pg_upgrade 14 → 15/);
    assert.match(r.stderr, /verified: 3 database\(s\), \d+ rows, checksums equal/);
    const fresh: TestCluster = {
      major: 15,
      bin: DEBIAN_15,
      data: path.join(dir, 'data-15'),
      socketDir: dir,
      port: port + 5,
    };
    assert.deepEqual(snapshotOf(fresh), before);
    assert.deepEqual(snapshotOf(old), before);
    const journal = readJournal(path.join(dir, 'journal', 'postgresql.json'))!;
    assert.equal(journal.backups[0]!.kind, 'datadir');
    // The call that really ran, as recorded: the same shape pgUpgradeArgv gives for majors that cannot run here.
    const call = journal.facts.pgUpgradeCall as string[];
    assert.equal(call[0], path.join(DEBIAN_15, 'pg_upgrade'));
    assert.deepEqual(
      call.filter((a) => a.startsWith('--')),
      [
        '--old-bindir',
        '--new-bindir',
        '--old-datadir',
        '--new-datadir',
        '--old-port',
        '--new-port',
        '--socketdir',
        '--username',
      ],
    );
    assert.deepEqual(call.slice(1, 9), [
      '--old-bindir',
      bin14,
      '--new-bindir',
      DEBIAN_15,
      '--old-datadir',
      old.data,
      '--new-datadir',
      path.join(dir, 'data-15'),
    ]);

    // Lose the old directory's data, then restore the last backup: the damaged content is moved aside, not deleted.
    startCluster(old);
    psql(old, 'shop', 'DELETE FROM orders;');
    stopCluster(old);
    assert.notDeepEqual(snapshotOf(old), before);
    const restored = await transitionCli([
      '--journal',
      path.join(dir, 'journal', 'postgresql.json'),
      '--restore',
      '--yes',
    ]);
    assert.equal(restored.exitCode, 0, restored.stderr);
    assert.match(restored.stdout, /restore postgresql 14 from a copy of the data directory/);
    assert.deepEqual(snapshotOf(old), before);
    const aside = fs.readdirSync(dir).filter((f) => f.startsWith('data-14.before-restore-'));
    assert.equal(aside.length, 1);
    assert.equal(readJournal(path.join(dir, 'journal', 'postgresql.json'))!.state, 'restored');
  });

  it('refuses a new data directory that holds files it did not make, and a pg_upgrade downgrade; nothing changes', async () => {
    const port = 55460;
    const { dir, old, before } = oldCluster(15, 'pgref', port);
    dirs.push(dir);
    fs.mkdirSync(path.join(dir, 'data-16'));
    fs.writeFileSync(path.join(dir, 'data-16', 'PG_VERSION'), '16\n');
    const r = await transitionCli([...baseArgs(dir, old, 16, port), '--method', 'dump']);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /already holds files this transition did not make/);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'data-16')), ['PG_VERSION']);
    const downArgs = baseArgs(dir, old, 14, port);
    downArgs[downArgs.indexOf('--journal') + 1] = path.join(dir, 'j2.json');
    const down = await transitionCli([...downArgs, '--method', 'upgrade']);
    assert.equal(down.exitCode, 1);
    assert.match(down.stderr, /pg_upgrade cannot go down from 15 to 14/);
    assert.equal(fs.existsSync(path.join(dir, 'data-14')), false);
    assert.deepEqual(snapshotOf(old), before);
  });

  it('a failing upgrade tool and a failing hook lead to the recovery path: old data intact, new directory removed', async () => {
    const port = 55470;
    const { dir, old, before } = oldCluster(14, 'pgfail', port);
    dirs.push(dir);
    const bin14 = preparedOld14Bindir(path.join(dir, 'bin14'));
    // A new bindir whose pg_upgrade writes into the new cluster, then fails.
    const bin15 = path.join(dir, 'bin15');
    fs.mkdirSync(bin15);
    for (const n of fs.readdirSync(DEBIAN_15))
      if (n !== 'pg_upgrade') fs.symlinkSync(path.join(DEBIAN_15, n), path.join(bin15, n));
    fs.writeFileSync(
      path.join(bin15, 'pg_upgrade'),
      '#!/bin/sh\n[ "$1" = "--version" ] && { echo "pg_upgrade (PostgreSQL) 15.18"; exit 0; }\n' +
        'while [ $# -gt 0 ]; do [ "$1" = "--new-datadir" ] && nd="$2"; shift; done\n' +
        'echo half > "$nd/base/half-copied"; echo "could not copy file: No space left on device" >&2; exit 1\n',
      { mode: 0o755 },
    );
    const args = baseArgs(dir, { ...old, bin: bin14 }, 15, port).map((a) => (a === DEBIAN_15 ? bin15 : a));
    args[args.indexOf('--new-bin') + 1] = bin15;
    const r = await transitionCli([
      ...args,
      '--method',
      'upgrade',
      '--hook-revert',
      '["/bin/sh","-c","echo reverted > ' + dir + '/reverted"]',
    ]);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /stopped at migrate: .*No space left on device/);
    assert.equal(fs.existsSync(path.join(dir, 'data-15')), false, 'the half-made new cluster is gone');
    assert.equal(fs.readFileSync(path.join(dir, 'reverted'), 'utf8'), 'reverted\n');
    let journal = readJournal(path.join(dir, 'journal', 'postgresql.json'))!;
    assert.equal(journal.state, 'recovered');
    assert.equal(journal.steps.find((s) => s.id === 'migrate')!.status, 'failed');
    assert.equal(journal.hooks[0]!.phase, 'revert');
    assert.deepEqual(snapshotOf(old), before);

    // A before-hook that fails stops the transition before anything changes.
    const h = await transitionCli([
      ...baseArgs(dir, old, 15, port),
      '--method',
      'dump',
      '--hook-before',
      '["/bin/false"]',
    ]);
    assert.equal(h.exitCode, 1);
    assert.match(h.stderr, /the before hook \/bin\/false failed/);
    journal = readJournal(path.join(dir, 'journal', 'postgresql.json'))!;
    assert.equal(journal.state, 'recovered');
    assert.deepEqual(
      journal.hooks.map((x) => [x.phase, x.exitCode]),
      [['before', 1]],
    );
    assert.equal(journal.steps.find((s) => s.id === 'stop')!.status, 'pending');
    assert.equal(fs.existsSync(path.join(dir, 'data-15')), false);
    assert.deepEqual(snapshotOf(old), before);
  });

  it('a run killed in the middle refuses a fresh start, and --resume finishes it from the journal', async () => {
    const port = 55480;
    const { dir, old, before } = oldCluster(15, 'pgkill', port);
    dirs.push(dir);
    const args = [...baseArgs(dir, old, 16, port), '--method', 'dump'];
    const journalFile = path.join(dir, 'journal', 'postgresql.json');
    // Kill the CLI (SIGKILL, no chance to clean up) as soon as the journal says the restore started.
    const child = runProcess([process.execPath, CLI, 'transition', 'postgresql', ...args], { timeoutMs: 240_000 });
    for (let i = 0; i < 2400; i++) {
      const j = readJournalQuietly(journalFile);
      if (j?.steps.find((s) => s.id === 'migrate')?.status === 'running') break;
      await new Promise((res) => setTimeout(res, 25));
    }
    killCli(journalFile);
    const killed = await child;
    assert.equal(killed.signal, 'SIGKILL');
    const again = await transitionCli(args);
    assert.equal(again.exitCode, 1);
    assert.match(again.stderr, /unfinished .*--resume/);
    const resumed = await transitionCli(['--journal', journalFile, '--resume']);
    assert.equal(resumed.exitCode, 0, resumed.stderr);
    const fresh: TestCluster = {
      major: 16,
      bin: pgBin(16),
      data: path.join(dir, 'data-16'),
      socketDir: dir,
      port: port + 5,
    };
    assert.deepEqual(snapshotOf(fresh), before);
    assert.deepEqual(snapshotOf(old), before);
  });
});

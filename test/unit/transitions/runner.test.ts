import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Journal, JournalError, lockJournal, readJournal } from '../../../src/core/transitions/journal';
import { formatPlan } from '../../../src/core/transitions/plan';
import { pgUpgradeArgv } from '../../../src/core/transitions/postgresql';
import {
  compareInventories,
  conninfoValue,
  parseMajor,
  type ClusterInventory,
} from '../../../src/core/transitions/pgtools';
import { NO_HOOKS, runTransition, type TransitionDefinition } from '../../../src/core/transitions/runner';

describe('transitions: journal, runner, plan', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-journal-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const file = (): string => path.join(dir, 'sub', 'j.json');

  it('writes the journal atomically, 0600 in a 0700 directory, and reads it back', () => {
    const j = Journal.create(file(), { id: 't1', kind: 'test', params: { a: 1 }, steps: ['one', 'two'] });
    j.setStep('one', 'done');
    j.setFact('x', { y: 2 });
    assert.equal(fs.statSync(file()).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(file())).mode & 0o777, 0o700);
    assert.deepEqual(fs.readdirSync(path.dirname(file())), ['j.json'], 'no temp file left');
    const back = readJournal(file())!;
    assert.equal(back.steps[0]!.status, 'done');
    assert.deepEqual(back.facts.x, { y: 2 });
    assert.equal(Journal.open(file())!.nextStep(), 'two');
  });

  it('refuses a journal that is not one, without touching it', () => {
    fs.mkdirSync(path.dirname(file()), { recursive: true });
    fs.writeFileSync(file(), '{"version": 7}');
    assert.throws(() => readJournal(file()), JournalError);
    fs.writeFileSync(file(), 'not json');
    assert.throws(() => readJournal(file()), /not valid JSON/);
    assert.equal(fs.readFileSync(file(), 'utf8'), 'not json');
  });

  it('a lock held by a live process refuses a second run; a dead holder is taken over', () => {
    const release = lockJournal(file());
    fs.writeFileSync(`${file()}.lock`, `1 ${fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}\n`);
    assert.throws(() => lockJournal(file()), /another run \(pid 1\)/);
    fs.writeFileSync(`${file()}.lock`, '999999999 some-earlier-boot\n');
    const again = lockJournal(file());
    again();
    assert.equal(fs.existsSync(`${file()}.lock`), false);
    release();
  });

  function definition(calls: string[], failAt: string | null): TransitionDefinition<null> {
    const step = (id: string) => ({
      id,
      run: async () => {
        calls.push(id);
        if (id === failAt) throw new Error(`${id} broke`);
      },
    });
    return {
      hooksBefore: 'b',
      steps: [step('a'), step('b'), step('c')],
      recover: async (_ctx, _j, failed) => {
        calls.push(`recover:${failed}`);
      },
    };
  }

  it('runs steps in order, skips done ones on a resume, and a failing step takes the recovery path', async () => {
    const calls: string[] = [];
    const j = Journal.create(file(), { id: 't', kind: 'test', params: {}, steps: ['a', 'b', 'c'] });
    const failed = await runTransition(definition(calls, 'b'), null, j, NO_HOOKS, () => undefined);
    assert.deepEqual(calls, ['a', 'b', 'recover:b']);
    assert.equal(failed.ok, false);
    assert.equal(failed.state, 'recovered');
    assert.equal(readJournal(file())!.steps[1]!.status, 'failed');
    assert.match(readJournal(file())!.steps[1]!.error!, /b broke/);

    // A run that died during b (journal says running): a resume runs b again, not a.
    const calls2: string[] = [];
    const j2 = Journal.create(path.join(dir, 'k.json'), { id: 'k', kind: 'test', params: {}, steps: ['a', 'b', 'c'] });
    j2.setStep('a', 'done');
    j2.setStep('b', 'running');
    const ok = await runTransition(definition(calls2, null), null, Journal.open(j2.file)!, NO_HOOKS, () => undefined);
    assert.equal(ok.ok, true);
    assert.deepEqual(calls2, ['b', 'c']);
    assert.equal(readJournal(j2.file)!.state, 'done');
  });

  it('hooks run before the first changing step, are journaled, and a failing one recovers and runs revert hooks', async () => {
    const calls: string[] = [];
    const marker = path.join(dir, 'reverted');
    const j = Journal.create(file(), { id: 't', kind: 'test', params: {}, steps: ['a', 'b', 'c'] });
    const r = await runTransition(
      definition(calls, null),
      null,
      j,
      {
        before: [['/bin/true'], ['/bin/sh', '-c', 'echo nope >&2; exit 3']],
        after: [],
        revert: [['/bin/sh', '-c', `echo r > ${marker}`]],
      },
      () => undefined,
    );
    assert.equal(r.ok, false);
    assert.match(r.error!, /the before hook \/bin\/sh failed \(exit 3\): nope/);
    assert.deepEqual(calls, ['a', 'recover:hooks-before']);
    const data = readJournal(file())!;
    assert.deepEqual(
      data.hooks.map((h) => [h.phase, h.exitCode]),
      [
        ['before', 0],
        ['before', 3],
        ['revert', 0],
      ],
    );
    assert.equal(fs.readFileSync(marker, 'utf8'), 'r\n');
  });

  it('formats a plan with duration, disk space and undo per step', () => {
    const text = formatPlan({
      kind: 'postgresql',
      summary: 'PostgreSQL 14 → 15',
      steps: [
        { id: 'backup', title: 'Back up', does: 'copy', seconds: 12, diskBytes: 50 * 1024 * 1024, undo: 'kept' },
        { id: 'switch', title: 'Switch', does: 'switch', seconds: 0, diskBytes: 0, undo: 'revert', external: true },
      ],
      notes: ['vacuum'],
    });
    assert.match(text, /1\. Back up \[~12 s, needs 50 MiB\]\n {5}copy\n {5}undo: kept/);
    assert.match(text, /2\. Switch \(done by the switch, not by this command\)/);
    assert.match(text, /note: vacuum/);
  });
});

describe('transitions: PostgreSQL pieces', () => {
  it('the pg_upgrade call for 16 → 17 (cannot run here) has the shape the real 14 → 15 run recorded', () => {
    // The shape of the call the real pg_upgrade 14 → 15 run makes (test/integration/transition-postgresql.test.ts
    // checks the call recorded in its journal against this function); pg_upgrade 16 and 17 take the same options.
    const recorded = [
      '/nix/store/new-17/bin/pg_upgrade',
      '--old-bindir',
      '/nix/store/old-16/bin',
      '--new-bindir',
      '/nix/store/new-17/bin',
      '--old-datadir',
      '/var/lib/postgresql/16',
      '--new-datadir',
      '/var/lib/postgresql/17',
      '--old-port',
      '50432',
      '--new-port',
      '50433',
      '--socketdir',
      '/tmp/nixgen-pg-abc',
      '--username',
      'postgres',
    ];
    const argv = pgUpgradeArgv(
      {
        options: {
          oldBin: '/nix/store/old-16/bin',
          newBin: '/nix/store/new-17/bin',
          oldData: '/var/lib/postgresql/16',
          newData: '/var/lib/postgresql/17',
          backupDir: '/b',
          port: 50432,
          method: 'upgrade',
          clientBins: [],
          checksum: true,
        },
        tools: { pgUpgrade: '/nix/store/new-17/bin/pg_upgrade', psql: null, pgDumpall: null, initdb: null },
        socketDir: '/tmp/nixgen-pg-abc',
      },
      'postgres',
    );
    assert.deepEqual(argv, recorded);
    assert.ok(!argv.includes('--link'), 'copy mode: the old data directory is only read');
  });

  it('parses versions, quotes conninfo values, and finds every lost or changed row', () => {
    assert.equal(parseMajor('postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)'), 15);
    assert.equal(parseMajor('pg_dump (PostgreSQL) 17.10'), 17);
    assert.equal(parseMajor('garbage'), null);
    assert.equal(conninfoValue("it's a \\ db"), "'it\\'s a \\\\ db'");
    const inv = (rows: number, sum: string, extra = false): ClusterInventory => ({
      major: 15,
      encoding: 'UTF8',
      collate: 'C.UTF-8',
      ctype: 'C.UTF-8',
      dataChecksums: false,
      superuser: 'postgres',
      databases: {
        shop: {
          'public.orders': { rows, checksum: sum },
          ...(extra ? { 'public.x': { rows: 1, checksum: '1' } } : {}),
        },
      },
    });
    assert.deepEqual(compareInventories(inv(10, 'a'), inv(10, 'a'), true), []);
    assert.deepEqual(compareInventories(inv(10, 'a'), inv(9, 'a'), true), [
      'shop: table public.orders has 9 rows, the old cluster 10',
    ]);
    assert.deepEqual(compareInventories(inv(10, 'a'), inv(10, 'b'), true), [
      'shop: table public.orders has different contents',
    ]);
    assert.deepEqual(compareInventories(inv(10, 'a'), inv(10, 'b'), false), []);
    assert.deepEqual(compareInventories(inv(10, 'a', true), inv(10, 'a'), true), ['shop: table public.x is missing']);
    assert.deepEqual(compareInventories(inv(1, 'a'), { ...inv(1, 'a'), databases: {} }, true), [
      'database shop is missing',
    ]);
  });
});

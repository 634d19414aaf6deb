/**
 * PostgreSQL's own programs, driven with argv arrays: finding them in bindirs, starting and stopping a cluster on a
 * private unix socket, queries through psql, and the inventory (per database: tables, row counts and a checksum of
 * their contents) that proves a migration lost nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runProcess, type RunOptions, type RunResult } from '../exec/process';

/** Who runs the server programs: PostgreSQL refuses to run as root. */
export interface PgUser {
  /** User name for `runuser -u`, or null when the current user runs them directly. */
  runAs: string | null;
  uid: number;
  gid: number;
}

export interface PgServer {
  bin: string;
  data: string;
  socketDir: string;
  port: number;
  /** Bootstrap superuser to connect as (null: the OS user's name). */
  superuser: string | null;
}

/** The environment of every PostgreSQL program we start: no PG* variables from the caller, UTC for stable text. */
export function pgEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', PGTZ: 'UTC', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
}

export function asUser(user: PgUser, argv: readonly string[]): string[] {
  return user.runAs !== null ? ['runuser', '-u', user.runAs, '--', ...argv] : [...argv];
}

export function runPg(user: PgUser, argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return runProcess(asUser(user, argv), { baseEnv: pgEnv(), timeoutMs: 6 * 60 * 60 * 1000, ...options });
}

export async function runPgChecked(
  user: PgUser,
  argv: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const r = await runPg(user, argv, options);
  if (r.exitCode !== 0) {
    const why = r.timedOut ? 'timed out' : `exited with ${r.exitCode ?? r.signal}`;
    const detail = r.stderr.trim().split('\n').slice(-6).join('\n') || r.stdout.trim().split('\n').slice(-6).join('\n');
    throw new Error(`${path.basename(argv[0]!)} ${why}${detail ? `: ${detail}` : ''}`);
  }
  return r;
}

export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The first of `dirs` that holds an executable `name`. */
export function findTool(name: string, dirs: readonly string[]): string | null {
  for (const dir of dirs) {
    const file = path.join(dir, name);
    if (isExecutable(file)) return file;
  }
  return null;
}

/** "postgres (PostgreSQL) 15.18 (Debian …)" → 15; 9.6 → 9 (majors before 10 had two parts; not supported here). */
export function parseMajor(versionOutput: string): number | null {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(versionOutput);
  return m ? Number(m[1]) : null;
}

export async function toolMajor(file: string): Promise<number | null> {
  try {
    const r = await runProcess([file, '--version'], { baseEnv: pgEnv(), timeoutMs: 30_000 });
    return r.exitCode === 0 ? parseMajor(r.stdout) : null;
  } catch {
    return null;
  }
}

/** The major a data directory was created by (its PG_VERSION file), or null. */
export function dataDirMajor(data: string): number | null {
  try {
    const text = fs.readFileSync(path.join(data, 'PG_VERSION'), 'utf8').trim();
    return /^\d+$/.test(text) ? Number(text) : null;
  } catch {
    return null;
  }
}

/** Bytes under a directory (files as allocated, not following links); bounded memory, iterative. */
export function directoryBytes(dir: string): number {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(current, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      const file = path.join(current, entry.name);
      if (entry.isDirectory()) stack.push(file);
      else if (entry.isFile()) {
        try {
          total += fs.lstatSync(file).size;
        } catch {
          // vanished while we looked
        }
      }
    }
  }
  return total;
}

/** Free bytes for an unprivileged writer on the filesystem that holds `target` (or its nearest existing parent). */
export function freeBytes(target: string): number | null {
  let dir = path.resolve(target);
  for (;;) {
    try {
      const s = fs.statfsSync(dir);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) return null;
      dir = parent;
    }
  }
}

/** Device of `target` or its nearest existing parent (two paths on one filesystem share free space). */
export function deviceOf(target: string): number | null {
  let dir = path.resolve(target);
  for (;;) {
    try {
      return fs.statSync(dir).dev;
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) return null;
      dir = parent;
    }
  }
}

/** pg_ctl passes -o through a shell: only plain path characters may go there. */
export function assertPlainPath(what: string, value: string): void {
  if (!/^\/[A-Za-z0-9_./-]*$/.test(value) || value.length > 90) {
    throw new Error(
      `${what} ${JSON.stringify(value)} must be an absolute path of letters, digits and _ . / - (at most 90 characters)`,
    );
  }
}

export interface PostmasterInfo {
  pid: number;
  port: number;
  socketDir: string;
}

/** postmaster.pid of a data directory: pid, port and socket directory of a server that is (or was) running. */
export function readPostmasterPid(data: string): PostmasterInfo | null {
  try {
    const lines = fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    if (!Number.isInteger(pid) || pid <= 0) return null;
    return { pid, port, socketDir: (lines[4] ?? '').trim() };
  } catch {
    return null;
  }
}

export async function serverRunning(user: PgUser, server: PgServer): Promise<boolean> {
  const pgCtl = path.join(server.bin, 'pg_ctl');
  const r = await runPg(user, [pgCtl, 'status', '-D', server.data], { timeoutMs: 30_000 });
  return r.exitCode === 0;
}

export async function startServer(user: PgUser, server: PgServer, logFile: string): Promise<void> {
  assertPlainPath('the socket directory', server.socketDir);
  const options = `-p ${server.port} -k ${server.socketDir} -h ''`;
  await runPgChecked(user, [
    path.join(server.bin, 'pg_ctl'),
    'start',
    '-D',
    server.data,
    '-l',
    logFile,
    '-w',
    '-t',
    '120',
    '-o',
    options,
  ]).catch((error: Error) => {
    let log = '';
    try {
      log = fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n');
    } catch {
      // no log written
    }
    throw new Error(`${error.message}${log ? `\nserver log:\n${log}` : ''}`);
  });
}

/** Stops the server of a data directory if one runs; `immediate` for a cluster that is about to be thrown away. */
export async function stopServer(
  user: PgUser,
  bin: string,
  data: string,
  mode: 'fast' | 'immediate' = 'fast',
): Promise<void> {
  if (!readPostmasterPid(data)) return;
  const pgCtl = path.join(bin, 'pg_ctl');
  const r = await runPg(user, [pgCtl, 'stop', '-D', data, '-m', mode, '-w', '-t', '120'], { timeoutMs: 180_000 });
  if (r.exitCode === 0) return;
  const status = await runPg(user, [pgCtl, 'status', '-D', data], { timeoutMs: 30_000 });
  // 3: not running (a stale postmaster.pid of a killed server is fine: the next start removes it).
  if (status.exitCode === 3 || status.exitCode === 4) return;
  throw new Error(`pg_ctl stop ${data} failed: ${r.stderr.trim().split('\n').slice(-3).join('\n')}`);
}

/** A conninfo keyword value in single quotes (database names may hold anything). */
export function conninfoValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function psqlArgv(psql: string, server: PgServer, database: string): string[] {
  const argv = [
    psql,
    '-X',
    '-q',
    '-A',
    '-t',
    '--field-separator-zero',
    '--record-separator-zero',
    '-v',
    'ON_ERROR_STOP=1',
    '-h',
    server.socketDir,
    '-p',
    String(server.port),
    '-d',
    `dbname=${conninfoValue(database)}`,
  ];
  if (server.superuser !== null) argv.push('-U', server.superuser);
  return argv;
}

/**
 * The fields a script's queries print, in order (psql -A -t with NUL as field and record separator: each query
 * below has a fixed number of columns, so the caller regroups them). The script goes on stdin.
 */
export async function queryFields(
  user: PgUser,
  psql: string,
  server: PgServer,
  database: string,
  script: string,
): Promise<string[]> {
  const r = await runPgChecked(user, psqlArgv(psql, server, database), { input: script });
  const fields = r.stdout.replace(/\n$/, '').split('\0');
  if (fields.length > 0 && fields[fields.length - 1] === '') fields.pop();
  return fields;
}

export interface TableInventory {
  rows: number;
  /** Order-independent sum of per-row md5 prefixes of the row's text (0 when checksums are off). */
  checksum: string;
}

export interface ClusterInventory {
  major: number;
  encoding: string;
  collate: string;
  ctype: string;
  dataChecksums: boolean;
  superuser: string;
  /** database → "schema.table" → counts. */
  databases: Record<string, Record<string, TableInventory>>;
}

const SESSION =
  "SET DateStyle = ISO; SET TimeZone = 'UTC'; SET extra_float_digits = 3; SET IntervalStyle = postgres; SET bytea_output = hex;\n";

function tablesScript(checksum: boolean): string {
  const sum = checksum ? "coalesce(sum((''x'' || substr(md5(t::text), 1, 15))::bit(60)::bigint::numeric), 0)" : '0';
  return (
    SESSION +
    `SELECT format('SELECT %L, count(*), ${sum} FROM %I.%I t', n.nspname || '.' || c.relname, n.nspname, c.relname)\n` +
    'FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace\n' +
    "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')\n" +
    "  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'\n" +
    'ORDER BY 1 \\gexec\n'
  );
}

function groups(fields: string[], width: number): string[][] {
  const out: string[][] = [];
  for (let i = 0; i + width <= fields.length; i += width) out.push(fields.slice(i, i + width));
  return out;
}

/** Every database's tables with row counts (and checksums) from a running server. */
export async function inventory(
  user: PgUser,
  psql: string,
  server: PgServer,
  checksum: boolean,
): Promise<ClusterInventory> {
  const flat = (db: string, script: string): Promise<string[]> => queryFields(user, psql, server, db, script);
  const head = groups(
    await flat(
      'postgres',
      "SELECT current_setting('server_version_num'), pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, " +
        "current_setting('data_checksums'), (SELECT rolname FROM pg_roles WHERE oid = 10) " +
        "FROM pg_database d WHERE d.datname = 'template0'",
    ),
    6,
  )[0];
  if (!head) throw new Error('the server did not describe itself (template0 missing?)');
  const databases: ClusterInventory['databases'] = {};
  const names = await flat(
    'postgres',
    'SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1',
  );
  for (const db of names) {
    const tables: Record<string, TableInventory> = {};
    for (const [name, rows, sum] of groups(await flat(db, tablesScript(checksum)), 3)) {
      tables[name!] = { rows: Number(rows), checksum: sum! };
    }
    databases[db] = tables;
  }
  return {
    major: Math.floor(Number(head[0]) / 10000),
    encoding: head[1]!,
    collate: head[2]!,
    ctype: head[3]!,
    dataChecksums: head[4] === 'on',
    superuser: head[5]!,
    databases,
  };
}

export function countRows(inv: ClusterInventory): number {
  let n = 0;
  for (const tables of Object.values(inv.databases)) for (const t of Object.values(tables)) n += t.rows;
  return n;
}

/** Differences that mean data was lost or changed (empty: the new cluster holds everything the old one did). */
export function compareInventories(old: ClusterInventory, fresh: ClusterInventory, checksum: boolean): string[] {
  const problems: string[] = [];
  for (const [db, tables] of Object.entries(old.databases)) {
    const other = fresh.databases[db];
    if (!other) {
      problems.push(`database ${db} is missing`);
      continue;
    }
    for (const [name, t] of Object.entries(tables)) {
      const o = other[name];
      if (!o) problems.push(`${db}: table ${name} is missing`);
      else if (o.rows !== t.rows) problems.push(`${db}: table ${name} has ${o.rows} rows, the old cluster ${t.rows}`);
      else if (checksum && o.checksum !== t.checksum) problems.push(`${db}: table ${name} has different contents`);
    }
  }
  return problems;
}

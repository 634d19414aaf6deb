/**
 * The PostgreSQL major-version transition: check → inventory → stop → back up → migrate → verify → keep.
 *
 * Upgrade (`pg_upgrade`, copy mode: the old data directory is only read) or dump and restore (`pg_dumpall` into a
 * fresh cluster; the only way down to an older major). The old data directory is never written by a step and is
 * kept until the user confirms; the new one is created by this run (recorded in the journal) and removed again on
 * the recovery path. A resume after a kill or a reboot runs the interrupted step again from its start.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Journal, JournalBackup } from './journal';
import { formatBytes, type PlannedStep, type TransitionPlan } from './plan';
import {
  assertPlainPath,
  compareInventories,
  countRows,
  dataDirMajor,
  deviceOf,
  directoryBytes,
  findTool,
  freeBytes,
  conninfoValue,
  inventory,
  queryFields,
  readPostmasterPid,
  runPg,
  runPgChecked,
  startServer,
  stopServer,
  toolMajor,
  type ClusterInventory,
  type PgServer,
  type PgUser,
} from './pgtools';
import type { TransitionDefinition } from './runner';
import { runProcess } from '../exec/process';

export type PostgresMethod = 'upgrade' | 'dump';

export interface PostgresTransitionOptions {
  oldBin: string;
  newBin: string;
  oldData: string;
  newData: string;
  /** Default: upgrade for a newer major, dump for an older one. */
  method?: PostgresMethod;
  backupDir: string;
  /** The user the servers run as (default: the owner of the old data directory). */
  runAs?: string;
  /** Where the servers' sockets and logs go (default: a private directory made for this run). */
  socketDir?: string;
  /** Port of the old server on that socket; the new one gets port + 1. */
  port?: number;
  /** More bindirs to find pg_dumpall, psql and pg_upgrade in, after the two servers' own. */
  clientBins?: string[];
  /** Compare a checksum of every table's contents, not only row counts (default true). */
  checksum?: boolean;
}

/** Everything the steps need, resolved from the options (again on every resume). */
export interface PostgresContext {
  options: Required<Omit<PostgresTransitionOptions, 'runAs' | 'socketDir' | 'clientBins'>> & { clientBins: string[] };
  user: PgUser;
  oldMajor: number;
  newMajor: number;
  method: PostgresMethod;
  socketDir: string;
  /** The socket directory was made for this run and is removed at its end. */
  ownSocketDir: boolean;
  tools: { psql: string | null; pgDumpall: string | null; pgUpgrade: string | null; initdb: string | null };
  oldBytes: number;
  log: (line: string) => void;
}

export const POSTGRES_STEPS = ['check', 'inventory', 'stop', 'backup', 'migrate', 'verify', 'keep'] as const;

export class RefusedError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'RefusedError';
  }
}

function userOf(name: string): PgUser | null {
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === name) return { runAs: name, uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch {
    // no passwd file
  }
  return null;
}

function nameOfUid(uid: number): string | null {
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (Number(f[2]) === uid && f[0]) return f[0];
    }
  } catch {
    // no passwd file
  }
  return null;
}

function resolveUser(options: PostgresTransitionOptions, problems: string[]): PgUser {
  const root = process.getuid?.() === 0;
  if (!root) {
    if (options.runAs && options.runAs !== os.userInfo().username) {
      problems.push(`--run-as ${options.runAs} needs root (this process runs as ${os.userInfo().username})`);
    }
    return { runAs: null, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  }
  let name = options.runAs;
  if (!name) {
    try {
      name = nameOfUid(fs.statSync(options.oldData).uid) ?? undefined;
    } catch {
      name = undefined;
    }
  }
  if (!name || name === 'root') {
    problems.push('PostgreSQL refuses to run as root: give --run-as USER (the owner of the data directory)');
    return { runAs: 'nobody', uid: 65534, gid: 65534 };
  }
  const user = userOf(name);
  if (!user) {
    problems.push(`no such user: ${name}`);
    return { runAs: 'nobody', uid: 65534, gid: 65534 };
  }
  return user;
}

function isEmptyDir(dir: string): boolean {
  try {
    return fs.readdirSync(dir).length === 0;
  } catch {
    return false;
  }
}

/**
 * Resolves the options into a context and lists every reason to refuse. Read-only: creates nothing (the socket
 * directory is made when a run starts). Used for the plan and again by the check step.
 */
export async function preparePostgres(
  options: PostgresTransitionOptions,
  journal: Journal | null,
  log: (line: string) => void,
): Promise<{ ctx: PostgresContext; problems: string[] }> {
  const problems: string[] = [];
  const oldBin = path.resolve(options.oldBin);
  const newBin = path.resolve(options.newBin);
  const oldData = path.resolve(options.oldData);
  const newData = path.resolve(options.newData);
  const clientBins = (options.clientBins ?? []).map((d) => path.resolve(d));
  for (const [what, dir, tools] of [
    ['--old-bin', oldBin, ['postgres', 'pg_ctl']],
    ['--new-bin', newBin, ['postgres', 'pg_ctl', 'initdb']],
  ] as const) {
    for (const tool of tools) {
      if (!findTool(tool, [dir])) problems.push(`${what} ${dir} has no executable ${tool}`);
    }
  }
  const oldMajor = dataDirMajor(oldData);
  if (!fs.existsSync(oldData)) problems.push(`the old data directory ${oldData} does not exist`);
  else if (oldMajor === null) problems.push(`${oldData} is not a PostgreSQL data directory (no PG_VERSION)`);
  const oldBinMajor = (await toolMajor(path.join(oldBin, 'postgres'))) ?? 0;
  const newMajor = (await toolMajor(path.join(newBin, 'postgres'))) ?? 0;
  if (oldMajor !== null && oldBinMajor !== 0 && oldBinMajor !== oldMajor) {
    problems.push(`${oldData} was made by PostgreSQL ${oldMajor}, but --old-bin runs ${oldBinMajor}`);
  }
  if (oldMajor !== null && newMajor !== 0 && newMajor === oldMajor) {
    problems.push(`both sides are PostgreSQL ${oldMajor}: no major-version transition is needed`);
  }
  const downgrade = oldMajor !== null && newMajor !== 0 && newMajor < oldMajor;
  const method: PostgresMethod = options.method ?? (downgrade ? 'dump' : 'upgrade');
  if (method === 'upgrade' && downgrade) {
    problems.push(`pg_upgrade cannot go down from ${oldMajor} to ${newMajor}: use --method dump`);
  }
  if (path.relative(oldData, newData) === '') problems.push('--old-data and --new-data are the same directory');
  const bins = [newBin, oldBin, ...clientBins];
  const tools = {
    psql: null as string | null,
    pgDumpall: null as string | null,
    pgUpgrade: null as string | null,
    initdb: findTool('initdb', [newBin]),
  };
  // psql of any recent major speaks to either server; pg_dumpall must be at least as new as the server it dumps;
  // pg_upgrade must be the new major's.
  for (const dir of bins) {
    const psql = findTool('psql', [dir]);
    if (psql && !tools.psql && ((await toolMajor(psql)) ?? 0) >= 10) tools.psql = psql;
    const dumpall = findTool('pg_dumpall', [dir]);
    if (
      dumpall &&
      findTool('pg_dump', [dir]) &&
      !tools.pgDumpall &&
      ((await toolMajor(dumpall)) ?? 0) >= (oldMajor ?? Infinity)
    ) {
      tools.pgDumpall = dumpall;
    }
    const upgrade = findTool('pg_upgrade', [dir]);
    if (upgrade && !tools.pgUpgrade && (await toolMajor(upgrade)) === newMajor) tools.pgUpgrade = upgrade;
  }
  if (!tools.psql) problems.push(`no psql in ${bins.join(', ')} (needed to count rows); give --client-bin DIR`);
  if (method === 'dump' && !tools.pgDumpall) {
    problems.push(
      `no pg_dumpall and pg_dump of major ${oldMajor ?? '?'} or newer in ${bins.join(', ')}: an older pg_dump refuses a newer server`,
    );
  }
  if (method === 'upgrade' && !tools.pgUpgrade)
    problems.push(`no pg_upgrade of major ${newMajor} in ${bins.join(', ')}`);
  if (method === 'upgrade') {
    for (const tool of ['pg_controldata', 'pg_resetwal']) {
      if (!findTool(tool, [oldBin])) problems.push(`pg_upgrade needs ${tool} in --old-bin ${oldBin}`);
    }
  }

  const user = resolveUser(options, problems);
  const createdByUs = journal?.fact<boolean>('createdNewData') === true;
  if (fs.existsSync(newData) && !isEmptyDir(newData) && !createdByUs) {
    problems.push(
      `the new data directory ${newData} already holds files this transition did not make; ` +
        'it is left alone (if NixOS initialised an empty cluster there, move it away first)',
    );
  }
  const socketDir = options.socketDir ? path.resolve(options.socketDir) : '';
  if (socketDir) {
    try {
      assertPlainPath('--socket-dir', socketDir);
    } catch (e) {
      problems.push((e as Error).message);
    }
    if (!fs.existsSync(socketDir)) problems.push(`--socket-dir ${socketDir} does not exist`);
  }
  const port = options.port ?? 50432;
  if (!Number.isInteger(port) || port < 1 || port > 65534) problems.push(`--port ${port} is not a port number`);
  const oldBytes = fs.existsSync(oldData) ? directoryBytes(oldData) : 0;

  // Free space: the backup (a copy of the data directory, or a dump) and the new cluster (about as large as the old).
  const backupDir = path.resolve(options.backupDir);
  const backupNeed =
    journal?.step('backup').status === 'done' ? 0 : method === 'upgrade' ? oldBytes : Math.ceil(oldBytes * 0.6);
  const newNeed = oldBytes + 64 * 1024 * 1024;
  const needs = new Map<number, { bytes: number; where: string[] }>();
  for (const [where, bytes] of [
    [backupDir, backupNeed],
    [newData, newNeed],
  ] as const) {
    const dev = deviceOf(where);
    if (dev === null) continue;
    const entry = needs.get(dev) ?? { bytes: 0, where: [] };
    entry.bytes += bytes;
    entry.where.push(where);
    needs.set(dev, entry);
  }
  for (const { bytes, where } of needs.values()) {
    const free = freeBytes(where[0]!);
    if (free !== null && free < bytes) {
      problems.push(
        `not enough free space for ${where.join(' and ')}: needs ${formatBytes(bytes)}, ${formatBytes(free)} free`,
      );
    }
  }

  const ctx: PostgresContext = {
    options: {
      oldBin,
      newBin,
      oldData,
      newData,
      backupDir,
      port,
      method,
      clientBins,
      checksum: options.checksum ?? true,
    },
    user,
    oldMajor: oldMajor ?? 0,
    newMajor,
    method,
    socketDir,
    ownSocketDir: !socketDir,
    tools,
    oldBytes,
    log,
  };
  return { ctx, problems };
}

/** The plan in words (sizes and times estimated from the old data directory). */
export function postgresPlan(ctx: PostgresContext): TransitionPlan {
  const { oldMajor, newMajor, oldBytes, method } = ctx;
  const mb = oldBytes / (1024 * 1024);
  const o = ctx.options;
  const steps: PlannedStep[] = [
    {
      id: 'check',
      title: 'Check',
      does: `versions (${oldMajor} in ${o.oldData}, ${newMajor} from ${o.newBin}), tools, free space, an unused new data directory`,
      seconds: 1,
      diskBytes: 0,
      undo: 'nothing to undo (reads only)',
    },
    {
      id: 'inventory',
      title: 'Count the old data',
      does: `per database: tables, row counts${o.checksum ? ' and a checksum of their contents' : ''} (a stopped server is started on a private socket, then stopped)`,
      seconds: 1 + mb / 100,
      diskBytes: 0,
      undo: 'nothing to undo (reads only)',
    },
    {
      id: 'stop',
      title: `Stop PostgreSQL ${oldMajor}`,
      does: 'stop the old server if it runs (it must be stopped to copy or upgrade its data)',
      seconds: 2,
      diskBytes: 0,
      undo: 'the old server is started again with the port and socket it had',
    },
    method === 'upgrade'
      ? {
          id: 'backup',
          title: 'Back up',
          does: `copy ${o.oldData} to ${o.backupDir}`,
          seconds: 1 + mb / 150,
          diskBytes: oldBytes,
          undo: 'kept: the backup stays until you delete it (restore it with --restore)',
        }
      : {
          id: 'backup',
          title: 'Back up (dump)',
          does: `roles (pg_dumpall --globals-only) and every database (pg_dump) into ${o.backupDir}; also the source of the restore`,
          seconds: 1 + mb / 50,
          diskBytes: Math.ceil(oldBytes * 0.6),
          undo: 'kept: the dump stays until you delete it (restore it with --restore)',
        },
    method === 'upgrade'
      ? {
          id: 'migrate',
          title: `pg_upgrade ${oldMajor} → ${newMajor}`,
          does: `initdb ${o.newData} with the old cluster's encoding and locale, then pg_upgrade (copy mode: the old directory is only read)`,
          seconds: 3 + mb / 150,
          diskBytes: oldBytes + 64 * 1024 * 1024,
          undo: `the new data directory ${o.newData} is removed; the old one was not changed`,
        }
      : {
          id: 'migrate',
          title: `Restore into PostgreSQL ${newMajor}`,
          does: `initdb ${o.newData}, start it on a private socket, replay the dump with psql, stop it`,
          seconds: 2 + mb / 20,
          diskBytes: oldBytes + 64 * 1024 * 1024,
          undo: `the new data directory ${o.newData} is removed; the old one was not changed`,
        },
    {
      id: 'verify',
      title: 'Verify',
      does: `start PostgreSQL ${newMajor} on a private socket, compare every table's row count${o.checksum ? ' and checksum' : ''} with the old cluster's, stop it`,
      seconds: 1 + mb / 100,
      diskBytes: 0,
      undo: 'a mismatch removes the new data directory (the old one is untouched)',
    },
    {
      id: 'switch',
      title: 'Switch',
      does: `the new system starts PostgreSQL ${newMajor} on ${o.newData}`,
      seconds: 0,
      diskBytes: 0,
      undo: 'safe switch reverts to the old generation, whose PostgreSQL uses the old data directory',
      external: true,
    },
    {
      id: 'keep',
      title: 'Keep the old data',
      does: `${o.oldData} and the backup stay until you confirm; then delete them yourself`,
      seconds: 0,
      diskBytes: 0,
      undo: 'nothing to undo',
    },
  ];
  const notes: string[] = [];
  if (newMajor < oldMajor)
    notes.push(
      `a downgrade (${oldMajor} → ${newMajor}): only dump and restore can do it; features newer than ${newMajor} in the dump fail to load and stop the transition`,
    );
  if (method === 'upgrade')
    notes.push(
      'after the switch, run `vacuumdb --all --analyze-in-stages` (pg_upgrade does not carry the planner statistics)',
    );
  return {
    kind: 'postgresql',
    summary: `PostgreSQL ${oldMajor} → ${newMajor} by ${method === 'upgrade' ? 'pg_upgrade' : 'dump and restore'} (${formatBytes(oldBytes)} of data)`,
    steps,
    notes,
  };
}

function oldServer(ctx: PostgresContext, superuser: string | null): PgServer {
  return {
    bin: ctx.options.oldBin,
    data: ctx.options.oldData,
    socketDir: ctx.socketDir,
    port: ctx.options.port,
    superuser,
  };
}

function newServer(ctx: PostgresContext, superuser: string | null): PgServer {
  return {
    bin: ctx.options.newBin,
    data: ctx.options.newData,
    socketDir: ctx.socketDir,
    port: ctx.options.port + 1,
    superuser,
  };
}

/** Makes the private socket directory of this run (owned by the server user). */
export function ensureSocketDir(ctx: PostgresContext): void {
  if (ctx.socketDir) return;
  ctx.socketDir = fs.mkdtempSync('/tmp/nixgen-pg-');
  fs.chmodSync(ctx.socketDir, 0o700);
  if (ctx.user.runAs !== null) fs.chownSync(ctx.socketDir, ctx.user.uid, ctx.user.gid);
}

export function removeSocketDir(ctx: PostgresContext): void {
  if (ctx.ownSocketDir && ctx.socketDir) fs.rmSync(ctx.socketDir, { recursive: true, force: true });
}

/**
 * Before a run (first or resumed): servers an earlier, killed run of this journal left on its private sockets are
 * stopped and those socket directories removed, so a resume never mistakes them for the user's own server. Then
 * this run's socket directory is recorded.
 */
export async function cleanUpEarlierRuns(ctx: PostgresContext, journal: Journal): Promise<void> {
  const earlier = journal.fact<string[]>('socketDirs') ?? [];
  for (const [bin, data, mode] of [
    [ctx.options.newBin, ctx.options.newData, 'immediate'],
    [ctx.options.oldBin, ctx.options.oldData, 'fast'],
  ] as const) {
    const pm = readPostmasterPid(data);
    if (pm && earlier.includes(pm.socketDir)) {
      await stopServer(ctx.user, bin, data, mode);
      journal.event(`stopped a server an earlier run left on ${data}`);
    }
  }
  for (const dir of earlier) {
    if (dir !== ctx.socketDir && dir.startsWith('/tmp/nixgen-pg-')) fs.rmSync(dir, { recursive: true, force: true });
  }
  journal.setFact('socketDirs', [...earlier.filter((d) => fs.existsSync(d)), ctx.socketDir]);
}

/** Runs `fn` against the old cluster: the running server where it runs, else one started on our socket. */
async function withOldServer<T>(
  ctx: PostgresContext,
  superuser: string | null,
  fn: (server: PgServer) => Promise<T>,
): Promise<T> {
  const running = readPostmasterPid(ctx.options.oldData);
  if (running && running.socketDir && (await isAlive(running.pid))) {
    return fn({ ...oldServer(ctx, superuser), socketDir: running.socketDir, port: running.port });
  }
  const server = oldServer(ctx, superuser);
  await startServer(ctx.user, server, path.join(ctx.socketDir, 'old.log'));
  try {
    return await fn(server);
  } finally {
    await stopServer(ctx.user, server.bin, server.data);
  }
}

async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Ends what an earlier, killed attempt left working on a directory this transition created: an `initdb`, a server
 * still starting (no postmaster.pid yet, so pg_ctl cannot stop it), or the `cp` of a backup. They outlive the killed CLI and would
 * keep writing while the directory is removed. Only processes whose arguments name that exact directory are ended.
 */
async function endLeftoversOn(dir: string): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const pids: number[] = [];
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      try {
        if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(dir)) pids.push(Number(entry));
      } catch {
        // gone already, or not ours to read
      }
    }
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Creates the new data directory (recorded, so the recovery path and a resume know it is ours to remove). */
async function freshNewData(ctx: PostgresContext, journal: Journal): Promise<void> {
  const dir = ctx.options.newData;
  if (fs.existsSync(dir) && journal.fact<boolean>('createdNewData') === true) {
    await endLeftoversOn(dir);
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  if (!fs.existsSync(dir)) {
    journal.setFact('createdNewData', true);
    fs.mkdirSync(dir, { mode: 0o700 });
  }
  if (ctx.user.runAs !== null) fs.chownSync(dir, ctx.user.uid, ctx.user.gid);
  fs.chmodSync(dir, 0o700);
}

async function initNewCluster(ctx: PostgresContext, old: ClusterInventory): Promise<void> {
  const argv = [
    ctx.tools.initdb!,
    '-D',
    ctx.options.newData,
    '-U',
    old.superuser,
    '-E',
    old.encoding,
    `--lc-collate=${old.collate}`,
    `--lc-ctype=${old.ctype}`,
    '--auth=trust',
  ];
  if (old.dataChecksums) argv.push('--data-checksums');
  await runPgChecked(ctx.user, argv, { cwd: ctx.socketDir });
}

/** The pg_upgrade call (exported: the invocation for majors that cannot run here is checked against a recording). */
export function pgUpgradeArgv(
  ctx: Pick<PostgresContext, 'options' | 'tools' | 'socketDir'>,
  superuser: string,
): string[] {
  const o = ctx.options;
  return [
    ctx.tools.pgUpgrade!,
    '--old-bindir',
    o.oldBin,
    '--new-bindir',
    o.newBin,
    '--old-datadir',
    o.oldData,
    '--new-datadir',
    o.newData,
    '--old-port',
    String(o.port),
    '--new-port',
    String(o.port + 1),
    '--socketdir',
    ctx.socketDir,
    '--username',
    superuser,
  ];
}

function backupId(journal: Journal): string {
  return `${journal.data.id}-backup`;
}

async function syncPath(target: string): Promise<void> {
  await runProcess(['sync', '-f', target], { timeoutMs: 10 * 60 * 1000 }).catch(() => undefined);
}

/** Runs a dump program as the server user, its output streamed into a root-owned file (never held in memory). */
async function dumpTo(ctx: PostgresContext, argv: string[], file: string): Promise<void> {
  const partial = `${file}.partial`;
  fs.rmSync(partial, { force: true });
  // Created here, 0600 and root's, before the dump program (running as the server user) fills it through us.
  fs.closeSync(fs.openSync(partial, 'w', 0o600));
  await runPgChecked(ctx.user, argv, { stdoutFile: partial });
  const fd = fs.openSync(partial, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(partial, file);
}

/** One database of a dump directory (names may hold anything, so files are numbered). */
interface DumpedDatabase {
  name: string;
  file: string;
  owner: string;
  encoding: string;
  collate: string;
  ctype: string;
}

function connArgs(server: PgServer): string[] {
  return ['-h', server.socketDir, '-p', String(server.port), '-U', server.superuser ?? ''];
}

/**
 * A dump directory: the roles (`pg_dumpall --globals-only`), then each database with `pg_dump` (plain SQL, no
 * CREATE DATABASE: the restore creates each database itself, with only the options every major knows, which is what
 * lets a dump of a newer major load into an older one), and databases.json describing them.
 */
async function dumpCluster(ctx: PostgresContext, server: PgServer, dir: string): Promise<void> {
  const partial = `${dir}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { mode: 0o700 });
  await dumpTo(ctx, [ctx.tools.pgDumpall!, ...connArgs(server), '--globals-only'], path.join(partial, 'globals.sql'));
  const fields = await queryFields(
    ctx.user,
    ctx.tools.psql!,
    server,
    'postgres',
    'SELECT datname, pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype ' +
      'FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1',
  );
  const databases: DumpedDatabase[] = [];
  for (let i = 0; i + 5 <= fields.length; i += 5) {
    const [name, owner, encoding, collate, ctype] = fields.slice(i, i + 5) as [string, string, string, string, string];
    const file = `db-${databases.length + 1}.sql`;
    const pgDump = path.join(path.dirname(ctx.tools.pgDumpall!), 'pg_dump');
    await dumpTo(ctx, [pgDump, ...connArgs(server), '-d', `dbname=${conninfoValue(name)}`], path.join(partial, file));
    databases.push({ name, file, owner, encoding, collate, ctype });
  }
  fs.writeFileSync(path.join(partial, 'databases.json'), `${JSON.stringify(databases, null, 2)}\n`, { mode: 0o600 });
  await syncPath(partial);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(partial, dir);
}

/** Replays one SQL file into a database; errors other than "role … already exists" stop the transition. */
async function replay(ctx: PostgresContext, server: PgServer, database: string, file: string): Promise<void> {
  const argv = [ctx.tools.psql!, '-X', '-q', ...connArgs(server), '-d', `dbname=${conninfoValue(database)}`];
  const r = await runPg(ctx.user, argv, { stdinFile: file });
  const errors = r.stderr.split('\n').filter((l) => /\bERROR:/.test(l) && !/role ".*" already exists/.test(l));
  if (r.exitCode !== 0 || errors.length > 0) {
    throw new Error(
      `restoring ${path.basename(file)} into ${database} failed: ` +
        `${errors.slice(0, 5).join('\n') || r.stderr.trim().split('\n').slice(-3).join('\n')}`,
    );
  }
}

/** Loads a dump directory into a running, freshly initialised server. */
async function restoreDump(ctx: PostgresContext, server: PgServer, dir: string): Promise<void> {
  await replay(ctx, server, 'postgres', path.join(dir, 'globals.sql'));
  const databases = JSON.parse(fs.readFileSync(path.join(dir, 'databases.json'), 'utf8')) as DumpedDatabase[];
  for (const db of databases) {
    if (db.name !== 'postgres') {
      // psql quotes the variables (:"x" an identifier, :'x' a literal): names never become SQL text.
      await runPgChecked(
        ctx.user,
        [
          ctx.tools.psql!,
          '-X',
          '-q',
          '-v',
          'ON_ERROR_STOP=1',
          ...connArgs(server),
          '-d',
          'postgres',
          '-v',
          `name=${db.name}`,
          '-v',
          `owner=${db.owner}`,
          '-v',
          `enc=${db.encoding}`,
          '-v',
          `coll=${db.collate}`,
          '-v',
          `ctype=${db.ctype}`,
        ],
        {
          input:
            "CREATE DATABASE :\"name\" OWNER :\"owner\" TEMPLATE template0 ENCODING :'enc' LC_COLLATE :'coll' LC_CTYPE :'ctype';\n",
        },
      );
    }
    await replay(ctx, server, db.name, path.join(dir, db.file));
  }
}

export function postgresDefinition(): TransitionDefinition<PostgresContext> {
  return {
    hooksBefore: 'stop',
    steps: [
      {
        id: 'check',
        run: async (ctx, journal) => {
          const { problems } = await preparePostgres(
            {
              ...ctx.options,
              socketDir: ctx.ownSocketDir ? undefined : ctx.socketDir,
              runAs: ctx.user.runAs ?? undefined,
            },
            journal,
            ctx.log,
          );
          if (problems.length > 0) throw new RefusedError(problems);
        },
      },
      {
        id: 'inventory',
        run: async (ctx, journal) => {
          const inv = await withOldServer(ctx, null, (server) =>
            inventory(ctx.user, ctx.tools.psql!, server, ctx.options.checksum),
          );
          journal.setFact('oldInventory', inv);
          ctx.log(`old cluster: ${Object.keys(inv.databases).length} database(s), ${countRows(inv)} rows`);
        },
      },
      {
        id: 'stop',
        run: async (ctx, journal) => {
          const running = readPostmasterPid(ctx.options.oldData);
          if (running && (await isAlive(running.pid))) {
            if (running.socketDir !== ctx.socketDir) journal.setFact('oldWasRunning', running);
            await stopServer(ctx.user, ctx.options.oldBin, ctx.options.oldData);
          }
        },
      },
      {
        id: 'backup',
        run: async (ctx, journal) => {
          const inv = journal.fact<ClusterInventory>('oldInventory')!;
          const dir = path.join(ctx.options.backupDir, journal.data.id);
          fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
          if (ctx.method === 'upgrade') {
            const target = path.join(dir, `data-${ctx.oldMajor}`);
            // a killed run's `cp` outlives it and would keep writing into the partial copy while it is removed
            await endLeftoversOn(`${target}.partial`);
            fs.rmSync(`${target}.partial`, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
            fs.rmSync(target, { recursive: true, force: true });
            const r = await runProcess(['cp', '-a', '--', ctx.options.oldData, `${target}.partial`], {
              timeoutMs: 6 * 60 * 60 * 1000,
            });
            if (r.exitCode !== 0) {
              fs.rmSync(`${target}.partial`, { recursive: true, force: true });
              throw new Error(`copying the data directory failed: ${r.stderr.trim().split('\n').slice(-2).join('\n')}`);
            }
            // The copy of a stopped cluster must not carry a stale lock file.
            fs.rmSync(path.join(`${target}.partial`, 'postmaster.pid'), { force: true });
            await syncPath(`${target}.partial`);
            fs.renameSync(`${target}.partial`, target);
            journal.addBackup({
              id: backupId(journal),
              kind: 'datadir',
              path: target,
              restores: `postgresql ${ctx.oldMajor}`,
              target: ctx.options.oldData,
              bytes: directoryBytes(target),
            });
          } else {
            const target = path.join(dir, `dump-${ctx.oldMajor}`);
            await withOldServer(ctx, inv.superuser, (server) => dumpCluster(ctx, server, target));
            journal.addBackup({
              id: backupId(journal),
              kind: 'dump',
              path: target,
              restores: `postgresql ${ctx.oldMajor}`,
              target: ctx.options.oldData,
              bytes: directoryBytes(target),
            });
          }
          journal.setFact('oldInventoryBackup', inv);
        },
      },
      {
        id: 'migrate',
        run: async (ctx, journal) => {
          const inv = journal.fact<ClusterInventory>('oldInventory')!;
          // A resume after a kill: a server of an earlier attempt may still run on either directory.
          await stopServer(ctx.user, ctx.options.newBin, ctx.options.newData, 'immediate').catch(() => undefined);
          await stopServer(ctx.user, ctx.options.oldBin, ctx.options.oldData);
          await freshNewData(ctx, journal);
          await initNewCluster(ctx, inv);
          if (ctx.method === 'upgrade') {
            const argv = pgUpgradeArgv(ctx, inv.superuser);
            journal.setFact('pgUpgradeCall', argv);
            await runPgChecked(ctx.user, argv, { cwd: ctx.socketDir });
          } else {
            const backup = journal.lastBackup()!;
            const server = newServer(ctx, inv.superuser);
            await startServer(ctx.user, server, path.join(ctx.socketDir, 'new.log'));
            try {
              await restoreDump(ctx, server, backup.path);
            } finally {
              await stopServer(ctx.user, server.bin, server.data);
            }
          }
        },
      },
      {
        id: 'verify',
        run: async (ctx, journal) => {
          const old = journal.fact<ClusterInventory>('oldInventory')!;
          const server = newServer(ctx, old.superuser);
          await stopServer(ctx.user, server.bin, server.data, 'immediate').catch(() => undefined);
          await startServer(ctx.user, server, path.join(ctx.socketDir, 'new.log'));
          let fresh: ClusterInventory;
          try {
            fresh = await inventory(ctx.user, ctx.tools.psql!, server, ctx.options.checksum);
          } finally {
            await stopServer(ctx.user, server.bin, server.data);
          }
          const problems = compareInventories(old, fresh, ctx.options.checksum);
          if (fresh.major !== ctx.newMajor)
            problems.unshift(`the new cluster runs ${fresh.major}, not ${ctx.newMajor}`);
          if (problems.length > 0) throw new Error(`verification failed:\n  ${problems.slice(0, 10).join('\n  ')}`);
          journal.setFact('verified', { databases: Object.keys(fresh.databases).length, rows: countRows(fresh) });
          ctx.log(
            `verified: ${Object.keys(fresh.databases).length} database(s), ${countRows(fresh)} rows, ${ctx.options.checksum ? 'checksums equal' : 'counts equal'}`,
          );
        },
      },
      {
        id: 'keep',
        run: async (ctx, journal) => {
          journal.setFact('oldDataKept', ctx.options.oldData);
          ctx.log(`kept ${ctx.options.oldData} and the backup; delete them once you are sure`);
        },
      },
    ],
    recover: async (ctx, journal) => {
      const errors: string[] = [];
      // Servers this run may have left: the new one (thrown away) and the old one on our private socket.
      await stopServer(ctx.user, ctx.options.newBin, ctx.options.newData, 'immediate').catch((e: Error) =>
        errors.push(e.message),
      );
      const pm = readPostmasterPid(ctx.options.oldData);
      if (pm && pm.socketDir === ctx.socketDir) {
        await stopServer(ctx.user, ctx.options.oldBin, ctx.options.oldData).catch((e: Error) => errors.push(e.message));
      }
      if (journal.fact<boolean>('createdNewData') === true && fs.existsSync(ctx.options.newData)) {
        fs.rmSync(ctx.options.newData, { recursive: true, force: true });
        journal.setFact('createdNewData', false);
        journal.event(`removed the unfinished new data directory ${ctx.options.newData}`);
      }
      if (dataDirMajor(ctx.options.oldData) !== ctx.oldMajor && ctx.oldMajor !== 0) {
        errors.push(
          `the old data directory ${ctx.options.oldData} no longer reads as PostgreSQL ${ctx.oldMajor}: restore the backup (--restore)`,
        );
      }
      const was = journal.fact<{ port: number; socketDir: string }>('oldWasRunning');
      if (was && !readPostmasterPid(ctx.options.oldData)) {
        try {
          await startServer(
            ctx.user,
            { ...oldServer(ctx, null), port: was.port, socketDir: was.socketDir },
            path.join(ctx.socketDir, 'old-restarted.log'),
          );
          journal.event(`started the old server again on ${was.socketDir} port ${was.port}`);
        } catch (e) {
          errors.push(`could not start the old server again: ${(e as Error).message}`);
        }
      }
      if (errors.length > 0) throw new Error(errors.join('; '));
    },
  };
}

/**
 * After the switch that followed a finished transition was reverted (the old system runs again, its PostgreSQL on
 * the old data directory): the new data directory this run made is moved aside, not deleted (the new system may
 * have written to it while it ran), so a later attempt starts clean; the old directory must still read as the old
 * major. Safe to run twice.
 */
export async function revertFinishedTransition(
  ctx: PostgresContext,
  journal: Journal,
): Promise<{ movedAside: string | null }> {
  const newData = ctx.options.newData;
  const running = readPostmasterPid(newData);
  if (running && (await isAlive(running.pid))) await stopServer(ctx.user, ctx.options.newBin, newData);
  let movedAside: string | null = null;
  if (journal.fact<boolean>('createdNewData') === true && fs.existsSync(newData)) {
    movedAside = `${newData}.reverted-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    fs.renameSync(newData, movedAside);
    journal.setFact('createdNewData', false);
    journal.setFact('newDataMovedAside', movedAside);
    journal.event(`the switch was reverted: moved ${newData} aside to ${movedAside}`);
  }
  if (ctx.oldMajor !== 0 && dataDirMajor(ctx.options.oldData) !== ctx.oldMajor) {
    throw new Error(
      `the old data directory ${ctx.options.oldData} no longer reads as PostgreSQL ${ctx.oldMajor}: restore the backup (--restore)`,
    );
  }
  return { movedAside };
}

/** What restoring a backup would do, in words. */
export function describeRestore(backup: JournalBackup): string {
  return (
    `restore ${backup.restores} from ${backup.kind === 'datadir' ? 'a copy of the data directory' : 'a dump (pg_dumpall --globals-only and pg_dump per database)'} ` +
    `${backup.path} (${formatBytes(backup.bytes)}, made ${backup.createdAt}) into ${backup.target}; ` +
    `whatever is in ${backup.target} now is moved aside, not deleted`
  );
}

/**
 * Puts a backup back into its data directory: the directory's current content is moved aside (never deleted), the
 * copy or the dump is restored, and the result is counted against the inventory taken when the backup was made.
 */
export async function restoreBackup(
  ctx: PostgresContext,
  journal: Journal,
  backup: JournalBackup,
): Promise<{ movedAside: string | null }> {
  const target = backup.target;
  const inv = journal.fact<ClusterInventory>('oldInventoryBackup') ?? journal.fact<ClusterInventory>('oldInventory');
  const running = readPostmasterPid(target);
  if (running && (await isAlive(running.pid)))
    throw new Error(`a server runs on ${target} (pid ${running.pid}): stop it first`);
  let movedAside: string | null = null;
  if (fs.existsSync(target) && !isEmptyDir(target)) {
    movedAside = `${target}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    fs.renameSync(target, movedAside);
    journal.event(`moved ${target} aside to ${movedAside}`);
  }
  fs.rmSync(target, { recursive: true, force: true });
  if (backup.kind === 'datadir') {
    const r = await runProcess(['cp', '-a', '--', backup.path, `${target}.partial`], { timeoutMs: 6 * 60 * 60 * 1000 });
    if (r.exitCode !== 0) {
      fs.rmSync(`${target}.partial`, { recursive: true, force: true });
      throw new Error(`copying the backup failed: ${r.stderr.trim()}`);
    }
    await syncPath(`${target}.partial`);
    fs.renameSync(`${target}.partial`, target);
  } else {
    if (!inv) throw new Error('the journal has no inventory of the dumped cluster (its encoding and locale)');
    fs.mkdirSync(target, { mode: 0o700 });
    if (ctx.user.runAs !== null) fs.chownSync(target, ctx.user.uid, ctx.user.gid);
    const initdb = findTool('initdb', [ctx.options.oldBin]);
    if (!initdb) throw new Error(`no initdb in ${ctx.options.oldBin}`);
    const argv = [
      initdb,
      '-D',
      target,
      '-U',
      inv.superuser,
      '-E',
      inv.encoding,
      `--lc-collate=${inv.collate}`,
      `--lc-ctype=${inv.ctype}`,
      '--auth=trust',
    ];
    if (inv.dataChecksums) argv.push('--data-checksums');
    await runPgChecked(ctx.user, argv, { cwd: ctx.socketDir });
    const server = oldServer(ctx, inv.superuser);
    await startServer(ctx.user, server, path.join(ctx.socketDir, 'restore.log'));
    try {
      await restoreDump(ctx, server, backup.path);
    } finally {
      await stopServer(ctx.user, server.bin, server.data);
    }
  }
  if (inv && ctx.tools.psql) {
    const problems = await withOldServer(ctx, inv.superuser, async (server) =>
      compareInventories(
        inv,
        await inventory(ctx.user, ctx.tools.psql!, server, ctx.options.checksum),
        ctx.options.checksum,
      ),
    );
    if (problems.length > 0)
      throw new Error(
        `the restored cluster differs from the backup's inventory:\n  ${problems.slice(0, 10).join('\n  ')}`,
      );
  }
  journal.setState('restored', `${backup.id} restored into ${target}`);
  return { movedAside };
}

/** A transition id: kind, majors and a random suffix (names backups and journal entries). */
export function newTransitionId(oldMajor: number, newMajor: number): string {
  return `postgresql-${oldMajor}-to-${newMajor}-${new Date().toISOString().slice(0, 10)}-${crypto.randomBytes(3).toString('hex')}`;
}

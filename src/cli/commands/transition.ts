import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { optionValue, parseArgs, UsageError, type ParsedArgs } from '../args';
import type { CliIO } from '../io';
import {
  DEFAULT_BACKUP_DIR,
  DEFAULT_JOURNAL_DIR,
  Journal,
  JournalError,
  lockJournal,
} from '../../core/transitions/journal';
import { formatPlan } from '../../core/transitions/plan';
import {
  cleanUpEarlierRuns,
  describeRestore,
  ensureSocketDir,
  newTransitionId,
  postgresDefinition,
  postgresPlan,
  POSTGRES_STEPS,
  preparePostgres,
  removeSocketDir,
  restoreBackup,
  revertFinishedTransition,
  type PostgresTransitionOptions,
} from '../../core/transitions/postgresql';
import { runHooks, runTransition, type UserHooks } from '../../core/transitions/runner';

const SPEC = {
  'old-bin': { value: true },
  'new-bin': { value: true },
  'old-data': { value: true },
  'new-data': { value: true },
  method: { value: true },
  'backup-dir': { value: true },
  journal: { value: true },
  'run-as': { value: true },
  'socket-dir': { value: true },
  port: { value: true },
  'client-bin': { value: true, repeat: true },
  'hook-before': { value: true, repeat: true },
  'hook-after': { value: true, repeat: true },
  'hook-revert': { value: true, repeat: true },
  backup: { value: true },
  'no-checksum': {},
  yes: {},
  json: {},
  resume: {},
  restore: {},
  revert: {},
  plan: {},
};

const HOOKS_SPEC = {
  phase: { value: true },
  journal: { value: true },
  hook: { value: true, repeat: true },
  json: {},
};

/**
 * `nixos-generations transition postgresql …`: the PostgreSQL major-version migration on this machine, with its
 * plan, its journal and its recovery path. Exit 0 only when the new data directory holds the migrated, verified
 * cluster (or, with --restore, the backup is back); 1 otherwise, the journal saying where it stopped; 2 on usage.
 */
export async function run(args: string[], io: CliIO): Promise<number> {
  const [kind, ...rest] = args;
  if (kind === 'hooks') return hookPhase(rest, io);
  if (kind !== 'postgresql') {
    throw new UsageError(`transition takes a kind: postgresql or hooks (got ${kind ?? 'nothing'})`);
  }
  const parsed = parseArgs(rest, SPEC);
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${parsed.positionals[0]}`);
  const json = parsed.flags.has('json');
  const log = (line: string): void => io.err(`${line}\n`);
  const journalFile = path.resolve(
    io.cwd,
    optionValue(parsed, 'journal') ?? path.join(DEFAULT_JOURNAL_DIR, 'postgresql.json'),
  );

  let release: (() => void) | null = null;
  try {
    release = lockJournal(journalFile);
    const existing = Journal.open(journalFile);
    if (parsed.flags.has('restore')) return await restore(parsed, io, existing, json);
    if (parsed.flags.has('revert')) return await revertAfterSwitch(io, existing, json);
    let options: PostgresTransitionOptions;
    if (parsed.flags.has('resume')) {
      if (!existing) {
        io.err(`nothing to resume: no journal at ${journalFile}\n`);
        return 1;
      }
      options = optionsFromJournal(existing);
      if (existing.data.state === 'done') return report(io, json, existing, 'already migrated and verified');
      if (existing.data.state !== 'running' && existing.data.state !== 'failed') {
        io.err(`the transition in ${journalFile} ended (${existing.data.state}); start a new one without --resume\n`);
        return 1;
      }
    } else {
      options = optionsFromFlags(parsed, io);
      if (existing && (existing.data.state === 'running' || existing.data.state === 'failed')) {
        io.err(
          `a transition is unfinished in ${journalFile} (${existing.data.state}, at step ${existing.nextStep() ?? '?'}): ` +
            'continue it with --resume, or put the backup back with --restore\n',
        );
        return 1;
      }
    }

    const { ctx, problems } = await preparePostgres(options, parsed.flags.has('resume') ? existing : null, log);
    const plan = postgresPlan(ctx);
    if (!json) io.out(formatPlan(plan));
    if (parsed.flags.has('plan')) {
      if (json) io.out(`${JSON.stringify({ plan, problems }, null, 2)}\n`);
      for (const p of problems) io.err(`refused: ${p}\n`);
      return problems.length > 0 ? 1 : 0;
    }
    if (problems.length === 0 && !parsed.flags.has('yes') && !parsed.flags.has('resume')) {
      if (!(await confirm(io, 'Run this transition?'))) {
        io.err('not confirmed: nothing was changed (give --yes to run without asking)\n');
        return 1;
      }
    }

    let journal: Journal;
    if (parsed.flags.has('resume')) journal = existing!;
    else {
      if (existing) archive(existing);
      journal = Journal.create(journalFile, {
        id: newTransitionId(ctx.oldMajor, ctx.newMajor),
        kind: 'postgresql',
        params: paramsOf(options, ctx.method),
        steps: POSTGRES_STEPS,
      });
      // Earlier transitions' backups stay restorable from the new journal.
      if (existing) {
        journal.data.backups = [...existing.data.backups];
        journal.save();
      }
    }
    const hooks = hooksFrom(parsed, journal);
    ensureSocketDir(ctx);
    await cleanUpEarlierRuns(ctx, journal);
    // A dropped connection must not stop a migration half-way: keep going, the journal tells the reconnecting side.
    const onHangup = (): void => journal.event('connection lost (SIGHUP); continuing');
    process.on('SIGHUP', onHangup);
    try {
      const result = await runTransition(postgresDefinition(), ctx, journal, hooks, log);
      if (!result.ok) {
        io.err(`transition ${result.state}: stopped at ${result.failedStep}: ${result.error}\n`);
        if (result.recoveryError) io.err(`recovery incomplete: ${result.recoveryError}\n`);
        else io.err(`the old data directory ${ctx.options.oldData} is as it was; the new one was removed\n`);
      }
      return report(io, json, journal, result.ok ? 'migrated and verified' : null);
    } finally {
      process.off('SIGHUP', onHangup);
      removeSocketDir(ctx);
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    io.err(
      `nixos-generations transition: ${error instanceof JournalError ? '' : 'error: '}${(error as Error).message}\n`,
    );
    return 1;
  } finally {
    release?.();
  }
}

function need(parsed: ParsedArgs, name: string): string {
  const value = optionValue(parsed, name);
  if (value === undefined) throw new UsageError(`transition postgresql needs --${name}`);
  return value;
}

function optionsFromFlags(parsed: ParsedArgs, io: CliIO): PostgresTransitionOptions {
  const method = optionValue(parsed, 'method');
  if (method !== undefined && method !== 'upgrade' && method !== 'dump')
    throw new UsageError('--method is upgrade or dump');
  const portText = optionValue(parsed, 'port');
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65534))
    throw new UsageError(`--port ${portText} is not a port number`);
  const abs = (p: string): string => path.resolve(io.cwd, p);
  return {
    oldBin: abs(need(parsed, 'old-bin')),
    newBin: abs(need(parsed, 'new-bin')),
    oldData: abs(need(parsed, 'old-data')),
    newData: abs(need(parsed, 'new-data')),
    method: method as PostgresTransitionOptions['method'],
    backupDir: abs(optionValue(parsed, 'backup-dir') ?? path.join(DEFAULT_BACKUP_DIR, 'postgresql')),
    runAs: optionValue(parsed, 'run-as'),
    socketDir: optionValue(parsed, 'socket-dir') === undefined ? undefined : abs(optionValue(parsed, 'socket-dir')!),
    port,
    clientBins: (parsed.values.get('client-bin') ?? []).map(abs),
    checksum: !parsed.flags.has('no-checksum'),
  };
}

function paramsOf(o: PostgresTransitionOptions, method: string): Journal['data']['params'] {
  return {
    oldBin: o.oldBin,
    newBin: o.newBin,
    oldData: o.oldData,
    newData: o.newData,
    method,
    backupDir: o.backupDir,
    runAs: o.runAs ?? null,
    socketDir: o.socketDir ?? null,
    port: o.port ?? null,
    clientBins: JSON.stringify(o.clientBins ?? []),
    checksum: o.checksum ?? true,
  };
}

function optionsFromJournal(journal: Journal): PostgresTransitionOptions {
  const p = journal.data.params;
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return {
    oldBin: String(p.oldBin),
    newBin: String(p.newBin),
    oldData: String(p.oldData),
    newData: String(p.newData),
    method: p.method === 'dump' ? 'dump' : 'upgrade',
    backupDir: String(p.backupDir),
    runAs: str(p.runAs),
    socketDir: str(p.socketDir),
    port: typeof p.port === 'number' ? p.port : undefined,
    clientBins: (JSON.parse(String(p.clientBins ?? '[]')) as string[]) ?? [],
    checksum: p.checksum !== false,
  };
}

function parseHook(text: string, flag: string): string[] {
  let argv: unknown;
  try {
    argv = JSON.parse(text);
  } catch {
    throw new UsageError(`--${flag} takes a JSON array of strings (an argv), e.g. '["systemctl","stop","app"]'`);
  }
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) {
    throw new UsageError(`--${flag} takes a non-empty JSON array of strings`);
  }
  return argv as string[];
}

/** Hooks from the flags; on a resume, the hooks recorded when the transition started. */
function hooksFrom(parsed: ParsedArgs, journal: Journal): UserHooks {
  const recorded = journal.fact<UserHooks>('hooks');
  if (parsed.flags.has('resume') && recorded) return recorded;
  const hooks: UserHooks = {
    before: (parsed.values.get('hook-before') ?? []).map((t) => parseHook(t, 'hook-before')),
    after: (parsed.values.get('hook-after') ?? []).map((t) => parseHook(t, 'hook-after')),
    revert: (parsed.values.get('hook-revert') ?? []).map((t) => parseHook(t, 'hook-revert')),
  };
  journal.setFact('hooks', hooks);
  return hooks;
}

function archive(journal: Journal): void {
  const target = `${journal.file.replace(/\.json$/, '')}.${journal.data.id}.json`;
  fs.copyFileSync(journal.file, target);
}

async function restore(parsed: ParsedArgs, io: CliIO, journal: Journal | null, json: boolean): Promise<number> {
  if (!journal || journal.data.backups.length === 0) {
    io.err(`no backup recorded${journal ? ` in ${journal.file}` : ''}: nothing to restore\n`);
    return 1;
  }
  const wanted = optionValue(parsed, 'backup');
  const backup = wanted ? journal.data.backups.find((b) => b.id === wanted) : journal.lastBackup();
  if (!backup) {
    io.err(`no backup ${wanted} in ${journal.file}; recorded: ${journal.data.backups.map((b) => b.id).join(', ')}\n`);
    return 1;
  }
  if (!fs.existsSync(backup.path)) {
    io.err(`the backup ${backup.path} is gone\n`);
    return 1;
  }
  io.out(`${describeRestore(backup)}\n`);
  if (!parsed.flags.has('yes') && !(await confirm(io, 'Restore this backup?'))) {
    io.err('not confirmed: nothing was changed\n');
    return 1;
  }
  const log = (line: string): void => io.err(`${line}\n`);
  const { ctx } = await preparePostgres({ ...optionsFromJournal(journal), method: 'dump' }, journal, log);
  ensureSocketDir(ctx);
  try {
    const { movedAside } = await restoreBackup(ctx, journal, backup);
    if (movedAside) io.err(`the previous content of ${backup.target} is in ${movedAside}\n`);
    return report(io, json, journal, `restored ${backup.id} into ${backup.target}`);
  } catch (error) {
    journal.event(`restore failed: ${(error as Error).message}`);
    io.err(`restore failed: ${(error as Error).message}\n`);
    return 1;
  } finally {
    removeSocketDir(ctx);
  }
}

/**
 * `--revert`: the switch this transition was part of was reverted (the old system runs again). A finished
 * transition's new data directory is moved aside; an unfinished one (killed, the editor gone) takes its recovery
 * path now; then the revert hooks recorded when it started run. Exit 0 when the old state is back.
 */
async function revertAfterSwitch(io: CliIO, journal: Journal | null, json: boolean): Promise<number> {
  if (!journal) {
    io.out('nothing to revert: no transition journal (nothing was migrated)\n');
    return 0;
  }
  const state = journal.data.state;
  if (state === 'recovered' || state === 'restored') {
    return report(io, json, journal, `nothing to revert: the transition already ended ${state}`);
  }
  const log = (line: string): void => io.err(`${line}\n`);
  const { ctx } = await preparePostgres(optionsFromJournal(journal), journal, log);
  ensureSocketDir(ctx);
  try {
    if (state === 'done') {
      const { movedAside } = await revertFinishedTransition(ctx, journal);
      if (movedAside) io.err(`the new data directory is kept aside in ${movedAside}\n`);
    } else {
      await postgresDefinition().recover(ctx, journal, journal.nextStep() ?? 'unknown');
    }
    const hooks = journal.fact<UserHooks>('hooks');
    await runHooks('revert', hooks?.revert ?? [], journal, log).catch((e: Error) => {
      journal.event(`revert hook failed: ${e.message}`);
      log(e.message);
    });
    journal.setState('recovered', 'the switch was reverted; the old data directory is in use again');
    return report(io, json, journal, `reverted: ${ctx.options.oldData} is the data directory again`);
  } catch (error) {
    journal.setState('failed', `revert after the switch: ${(error as Error).message}`);
    io.err(`revert incomplete: ${(error as Error).message}\n`);
    return report(io, json, journal, null);
  } finally {
    removeSocketDir(ctx);
  }
}

/**
 * `transition hooks --phase before|after|revert [--journal FILE] --hook '[argv…]'...`: the user's hooks of one
 * phase of a switch, each run recorded in the journal (a new `hooks` journal for `before`, else the one given, e.g.
 * a PostgreSQL transition's). Exit 1 on the first failing hook: the safe switch then reverts. `revert` with no
 * --hook runs the revert hooks the journal recorded.
 */
async function hookPhase(args: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(args, HOOKS_SPEC);
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${parsed.positionals[0]}`);
  const phase = optionValue(parsed, 'phase');
  if (phase !== 'before' && phase !== 'after' && phase !== 'revert') {
    throw new UsageError('transition hooks needs --phase before, after or revert');
  }
  const commands = (parsed.values.get('hook') ?? []).map((t) => parseHook(t, 'hook'));
  const json = parsed.flags.has('json');
  const journalFile = path.resolve(
    io.cwd,
    optionValue(parsed, 'journal') ?? path.join(DEFAULT_JOURNAL_DIR, 'hooks.json'),
  );
  const log = (line: string): void => io.err(`${line}\n`);
  let release: (() => void) | null = null;
  try {
    release = lockJournal(journalFile);
    let journal = Journal.open(journalFile);
    if (!journal || (phase === 'before' && journal.data.kind === 'hooks')) {
      if (journal) archive(journal);
      journal = Journal.create(journalFile, {
        id: `hooks-${new Date().toISOString().replace(/[:.]/g, '-')}`,
        kind: 'hooks',
        params: {},
        steps: [],
      });
    }
    const recorded = journal.fact<UserHooks>('hooks') ?? { before: [], after: [], revert: [] };
    journal.setFact('hooks', { ...recorded, [phase]: commands.length > 0 ? commands : recorded[phase] });
    const run = commands.length > 0 ? commands : phase === 'revert' ? recorded.revert : [];
    try {
      await runHooks(phase, run, journal, log);
    } catch (error) {
      log(`${(error as Error).message}`);
      if (journal.data.kind === 'hooks') journal.setState('failed', `a ${phase} hook failed`);
      return report(io, json, journal, null);
    }
    if (journal.data.kind === 'hooks') {
      if (phase === 'revert') journal.setState('recovered', 'the switch was reverted; revert hooks ran');
      else if (phase === 'after') journal.setState('done');
    }
    return report(io, json, journal, `${run.length} ${phase} hook(s) ran`);
  } catch (error) {
    io.err(`nixos-generations transition hooks: ${(error as Error).message}\n`);
    return 1;
  } finally {
    release?.();
  }
}

function report(io: CliIO, json: boolean, journal: Journal, success: string | null): number {
  const d = journal.data;
  if (json) {
    io.out(
      `${JSON.stringify(
        {
          ok: success !== null,
          state: d.state,
          journal: journal.file,
          id: d.id,
          steps: d.steps,
          backups: d.backups,
          verified: d.facts.verified ?? null,
        },
        null,
        2,
      )}\n`,
    );
  } else if (success) io.out(`${success} (journal ${journal.file})\n`);
  else io.out(`not done: ${d.state}; journal ${journal.file}\n`);
  return success !== null ? 0 : 1;
}

async function confirm(io: CliIO, question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    io.err('stdin is not a terminal: cannot ask\n');
    return false;
  }
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => rl.question(`${question} [y/N] `, resolve));
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

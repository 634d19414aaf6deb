/**
 * Runs a transition's steps in order against its journal. A step marked done is skipped on a resume; a step that
 * was running when the process died is run again (every step is idempotent, or guarded by facts in the journal).
 * A failing step, or a failing user hook, leads to the transition's recovery path, never to a half state: the
 * journal ends as `recovered` (old state back) or `failed` (recovery incomplete, with what to do).
 */
import { runProcess } from '../exec/process';
import type { Journal } from './journal';

export interface ExecutableStep<C> {
  id: string;
  run(ctx: C, journal: Journal): Promise<void>;
}

export interface UserHooks {
  /** Commands (argv arrays) run before the first step that changes state. */
  before: string[][];
  /** Commands run after the last step. */
  after: string[][];
  /** Commands run when the transition falls back to its recovery path. */
  revert: string[][];
}

export const NO_HOOKS: UserHooks = { before: [], after: [], revert: [] };

export interface RunReport {
  ok: boolean;
  state: Journal['data']['state'];
  /** The step that failed, when one did. */
  failedStep?: string;
  error?: string;
  recoveryError?: string;
}

export interface TransitionDefinition<C> {
  steps: ExecutableStep<C>[];
  /** Puts the old state back after a failure at `failedStep`; must itself be safe to run twice. */
  recover(ctx: C, journal: Journal, failedStep: string): Promise<void>;
  /** The step before which the `before` hooks run (the first step that changes state). */
  hooksBefore: string;
}

export type Log = (line: string) => void;

function tail(text: string, lines = 20): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** Runs the hooks of one phase; throws on the first that fails (each run is in the journal). */
export async function runHooks(
  phase: 'before' | 'after' | 'revert',
  commands: readonly string[][],
  journal: Journal,
  log: Log,
  runner: (argv: string[]) => Promise<{ exitCode: number | null; output: string }> = localHookRunner,
): Promise<void> {
  for (const argv of commands) {
    if (argv.length === 0) continue;
    log(`hook (${phase}): ${argv.join(' ')}`);
    let result: { exitCode: number | null; output: string };
    try {
      result = await runner(argv);
    } catch (error) {
      result = { exitCode: null, output: (error as Error).message };
    }
    journal.addHookRun({ phase, argv, exitCode: result.exitCode, output: tail(result.output) });
    if (result.exitCode !== 0) {
      throw new Error(
        `the ${phase} hook ${argv[0]} failed (exit ${result.exitCode ?? 'none'}): ${tail(result.output, 3)}`,
      );
    }
  }
}

async function localHookRunner(argv: string[]): Promise<{ exitCode: number | null; output: string }> {
  const r = await runProcess(argv, { timeoutMs: 30 * 60 * 1000, maxOutputBytes: 1024 * 1024 });
  return { exitCode: r.exitCode, output: `${r.stdout}${r.stderr}` };
}

export async function runTransition<C>(
  def: TransitionDefinition<C>,
  ctx: C,
  journal: Journal,
  hooks: UserHooks,
  log: Log,
): Promise<RunReport> {
  if (journal.data.state !== 'running') journal.setState('running', 'resumed');
  let current = '';
  try {
    for (const step of def.steps) {
      const status = journal.step(step.id).status;
      if (status === 'done' || status === 'skipped') continue;
      if (step.id === def.hooksBefore && hooks.before.length > 0 && !journal.fact<boolean>('hooksBeforeDone')) {
        current = 'hooks-before';
        await runHooks('before', hooks.before, journal, log);
        journal.setFact('hooksBeforeDone', true);
      }
      current = step.id;
      log(`step ${step.id}: ${status === 'running' || status === 'failed' ? 'running again' : 'running'}`);
      journal.setStep(step.id, 'running');
      await step.run(ctx, journal);
      journal.setStep(step.id, 'done');
    }
    if (hooks.after.length > 0 && !journal.fact<boolean>('hooksAfterDone')) {
      current = 'hooks-after';
      await runHooks('after', hooks.after, journal, log);
      journal.setFact('hooksAfterDone', true);
    }
    journal.setState('done');
    return { ok: true, state: 'done' };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (journal.data.steps.some((s) => s.id === current)) journal.setStep(current, 'failed', message);
    else journal.event(`${current}: failed (${message})`);
    log(`step ${current} failed: ${message}`);
    log('recovering: putting the old state back');
    let recoveryError: string | undefined;
    try {
      await def.recover(ctx, journal, current);
      await runHooks('revert', hooks.revert, journal, log).catch((e: Error) => {
        // A failing revert hook is recorded; the data recovery itself already happened.
        journal.event(`revert hook failed: ${e.message}`);
        log(e.message);
      });
    } catch (e) {
      recoveryError = e instanceof Error ? e.message : String(e);
    }
    if (recoveryError !== undefined) {
      journal.setState('failed', `stopped at ${current}: ${message}; recovery failed: ${recoveryError}`);
      return { ok: false, state: 'failed', failedStep: current, error: message, recoveryError };
    }
    journal.setState('recovered', `stopped at ${current}: ${message}; old state back`);
    return { ok: false, state: 'recovered', failedStep: current, error: message };
  }
}

/**
 * Safe switch: activate a new NixOS system with `test` under a watchdog on the target, check its health, ask the
 * user to keep it, and make it the boot default only when confirmed. Without a confirmation in time (the user
 * did not answer, the editor died, ssh or the network went away), the watchdog activates the previous system
 * again by itself; the boot default was never touched, so even a crash or a reboot lands on the old system.
 *
 * The orchestration here only talks to the target; it never decides for it. A revert is a failure, with its
 * reason (deploy-rs#214 reported success after a rollback).
 */
import { runHealthChecks, type HealthCheck, type HealthResult } from './health';
import {
  confirm,
  newSwitchId,
  requestRevert,
  start,
  status,
  transitionWords,
  type Launcher,
  type ProtocolOptions,
  type TransitionCommands,
  type WatchdogEvent,
} from './protocol';
import { describeTarget, targetKey, type Target } from '../target';

export * from './health';
export * from './protocol';
export * from '../target';
export { SAFE_SWITCH_SCRIPT } from './script';

export type Decision = 'keep' | 'revert';

export interface DecisionContext {
  id: string;
  /** Local epoch ms at which the target reverts by itself. */
  deadline: number;
  /** Health checks that passed. */
  health: HealthResult[];
  /** Aborted when the target decided without us (it reverted): stop asking. */
  signal: AbortSignal;
}

export type SafeSwitchPhase =
  | 'starting'
  | 'transition'
  | 'activating'
  | 'checking'
  | 'waiting'
  | 'confirming'
  | 'reverting'
  | 'kept'
  | 'reverted'
  | 'refused'
  | 'failed';

export interface SafeSwitchProgress {
  phase: SafeSwitchPhase;
  message: string;
  /** Local epoch ms of the revert deadline, once known. */
  deadline?: number;
}

export interface SafeSwitchOptions extends ProtocolOptions {
  target: Target;
  /** The new system's store path (built and present on the target). */
  toplevel: string;
  /** The profile that becomes the boot default when confirmed (e.g. /nix/var/nix/profiles/system). */
  profile: string;
  /** Where `current-system` lives on the target (default /run). */
  runDir?: string;
  confirmSeconds: number;
  healthChecks?: readonly HealthCheck[];
  launcher?: Launcher;
  activateTimeoutSeconds?: number;
  /** Commands the watchdog runs before and after the activation and after a revert (a state transition, hooks). */
  transition?: TransitionCommands;
  /** Asked once the new system is active and healthy. Not answering is the same as not confirming. */
  decide: (context: DecisionContext) => Promise<Decision>;
  onProgress?: (progress: SafeSwitchProgress) => void;
  /** Cancels waiting on our side only; the target still reverts by itself unless confirmed. */
  signal?: AbortSignal;
  /** How often the target's status is read (default 500 ms). */
  pollMs?: number;
  /** Fixed id (tests); default a fresh one. */
  id?: string;
  /**
   * How long after the deadline to keep trying to learn the outcome when the target cannot be reached (default
   * 30 s); then the result is a failure saying the outcome is unknown (the target reverts by itself).
   */
  graceMs?: number;
}

export type SafeSwitchOutcome = 'kept' | 'reverted' | 'refused' | 'failed';

export interface SafeSwitchResult {
  outcome: SafeSwitchOutcome;
  /** True only when the new system was kept and made the boot default. */
  ok: boolean;
  /** Why it ended this way (the revert reason for a revert). */
  reason: string;
  id: string | null;
  launcher: 'systemd' | 'detached' | null;
  /** The system the target reverts to. */
  previous: string | null;
  health: HealthResult[];
  events: WatchdogEvent[];
}

/** One switch at a time per target from this process (the target's lock covers other processes and machines). */
const running = new Set<string>();

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

export function isSwitchRunning(target: Target): boolean {
  return running.has(targetKey(target));
}

export async function safeSwitch(options: SafeSwitchOptions): Promise<SafeSwitchResult> {
  const key = targetKey(options.target);
  const where = describeTarget(options.target);
  const report = (phase: SafeSwitchPhase, message: string, deadline?: number): void =>
    options.onProgress?.({ phase, message, ...(deadline !== undefined ? { deadline } : {}) });
  const result: SafeSwitchResult = {
    outcome: 'failed',
    ok: false,
    reason: '',
    id: null,
    launcher: null,
    previous: null,
    health: [],
    events: [],
  };
  const finish = (outcome: SafeSwitchOutcome, reason: string): SafeSwitchResult => {
    result.outcome = outcome;
    result.ok = outcome === 'kept';
    result.reason = reason;
    report(outcome, reason);
    return result;
  };
  if (running.has(key)) return finish('refused', `a safe switch on ${where} is already running`);
  running.add(key);
  try {
    return await run(options, result, report, finish, where);
  } finally {
    running.delete(key);
  }
}

async function run(
  options: SafeSwitchOptions,
  result: SafeSwitchResult,
  report: (phase: SafeSwitchPhase, message: string, deadline?: number) => void,
  finish: (outcome: SafeSwitchOutcome, reason: string) => SafeSwitchResult,
  where: string,
): Promise<SafeSwitchResult> {
  const { target } = options;
  const pollMs = options.pollMs ?? 500;
  const id = options.id ?? newSwitchId();
  let transitionSeconds: number;
  try {
    transitionSeconds = Number(transitionWords(options.transition)[0]);
  } catch (error) {
    return finish('refused', (error as Error).message);
  }
  report('starting', `starting the safe switch on ${where}`);
  let started;
  try {
    started = await start(target, { ...options, id });
  } catch (error) {
    return finish('failed', `cannot reach ${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!started.ok) {
    return finish(started.busy !== null ? 'refused' : 'failed', started.message);
  }
  result.id = started.id;
  result.launcher = started.launcher;
  result.previous = started.previous;
  report('activating', `activating the new configuration on ${where} (watchdog: ${started.launcher})`);

  // Reads the target's events; a failed read is not fatal (the target reverts by itself).
  let unreachableSince: number | null = null;
  const poll = async (): Promise<WatchdogEvent[] | null> => {
    try {
      const s = await status(target, started.id, { ...options, timeoutMs: 15_000 });
      result.events = s.events;
      unreachableSince = null;
      return s.events;
    } catch {
      unreachableSince ??= Date.now();
      return null;
    }
  };
  const last = (events: readonly WatchdogEvent[], name: string): WatchdogEvent | undefined =>
    [...events].reverse().find((e) => e.event === name);

  /** Waits until the target's watchdog has finished (reverted or kept), as far as we can see. */
  const waitForEnd = async (limitMs: number, why?: string): Promise<SafeSwitchResult> => {
    const until = Date.now() + limitMs;
    while (Date.now() < until) {
      const events = await poll();
      if (events) {
        const reverted = last(events, 'reverted');
        if (reverted) return finish('reverted', `reverted to the previous configuration: ${why ?? reverted.detail}`);
        const failedRevert = last(events, 'revert-failed');
        if (failedRevert) return finish('failed', `the revert failed: ${failedRevert.detail}`);
        if (last(events, 'boot-default')) return finish('kept', 'kept, and made the boot default');
      }
      await sleep(pollMs);
    }
    const lost = unreachableSince !== null ? `${where} cannot be reached; ` : '';
    return finish(
      'failed',
      `${lost}the outcome is unknown: the target reverts by itself unless the switch was confirmed`,
    );
  };

  // 1. wait for the transition and the activation to finish (or fail: the watchdog then reverts at once)
  let deadline = 0;
  const activateLimit = Date.now() + ((options.activateTimeoutSeconds ?? 600) + transitionSeconds + 60) * 1000;
  let told = '';
  for (;;) {
    const events = await poll();
    if (events) {
      const latest = [...events].reverse().find((e) => e.event.startsWith('transition-') || e.event === 'activating');
      const phase = latest ? `${latest.event} ${latest.detail}` : '';
      if (latest && phase !== told) {
        told = phase;
        if (latest.event === 'transition-running') {
          report(
            'transition',
            latest.detail === 'before'
              ? `migrating state on ${where} before the new configuration is activated`
              : `running the hooks after the switch on ${where}`,
          );
        }
      }
      const waiting = last(events, 'waiting');
      if (waiting) {
        const targetNow = events[events.length - 1]!.at;
        deadline = Date.now() + Math.max(0, Number(waiting.detail) - Math.max(targetNow, waiting.at));
        break;
      }
      if (last(events, 'reverting') || last(events, 'reverted') || last(events, 'revert-failed')) {
        report('reverting', 'the activation failed; the target reverts');
        return waitForEnd(120_000);
      }
    }
    if (Date.now() > activateLimit) return waitForEnd(0);
    await sleep(pollMs);
  }

  // 2. health checks on the target
  const checks = options.healthChecks ?? [];
  if (checks.length > 0) {
    report('checking', `running ${checks.length} health check(s) on ${where}`, deadline);
    result.health = await runHealthChecks(target, checks, { env: options.env, signal: options.signal });
    const failed = result.health.find((h) => !h.ok);
    if (failed) {
      const reason = `health check failed: ${failed.title}${failed.detail ? ` (${failed.detail})` : ''}`;
      report('reverting', reason, deadline);
      try {
        // the detail is the target's own output: it stays here, out of the elevated command line
        await requestRevert(target, started.id, `health check failed: ${failed.title}`, options);
      } catch {
        // the deadline reverts anyway
      }
      return waitForEnd(Math.max(0, deadline - Date.now()) + 120_000, reason);
    }
  }

  // 3. ask; meanwhile watch the target (it may revert on its own at the deadline)
  report('waiting', `keep this configuration? ${where} reverts by itself at the deadline`, deadline);
  const asking = new AbortController();
  const decision = options.decide({ id: started.id, deadline, health: result.health, signal: asking.signal });
  let decided: Decision | 'target' | 'cancelled' | null = null;
  void decision.then(
    (d) => {
      decided ??= d;
    },
    () => {
      decided ??= 'cancelled';
    },
  );
  options.signal?.addEventListener('abort', () => (decided ??= 'cancelled'), { once: true });
  const grace = options.graceMs ?? 30_000;
  while (decided === null) {
    const events = await poll();
    if (events && (last(events, 'reverting') || last(events, 'reverted') || last(events, 'revert-failed'))) {
      decided = 'target';
      break;
    }
    if (Date.now() > deadline + grace) {
      // no answer, and the target has not been seen deciding: stop asking, find out what happened
      asking.abort();
      return waitForEnd(grace);
    }
    await Promise.race([sleep(pollMs), decision.catch(() => undefined)]);
  }
  asking.abort();
  const choice = decided as Decision | 'target' | 'cancelled';

  if (choice === 'keep') {
    report('confirming', `confirming over a new connection to ${where}`, deadline);
    let confirmed;
    try {
      confirmed = await confirm(target, started.id, options.profile, options);
    } catch (error) {
      confirmed = {
        ok: false as const,
        tooLate: false,
        activeButNotDefault: false,
        message: error instanceof Error ? error.message : String(error),
      };
    }
    if (confirmed.ok) {
      await poll();
      return finish('kept', 'kept, and made the boot default');
    }
    if (confirmed.activeButNotDefault) return finish('failed', confirmed.message);
    report('reverting', `the confirmation did not get through: ${confirmed.message}`, deadline);
    return waitForEnd(Math.max(0, deadline - Date.now()) + 120_000);
  }
  if (choice === 'revert') {
    report('reverting', 'reverting now, as asked', deadline);
    try {
      await requestRevert(target, started.id, 'revert requested by the user', options);
    } catch {
      // the deadline reverts anyway
    }
    return waitForEnd(Math.max(0, deadline - Date.now()) + 120_000);
  }
  if (choice === 'cancelled') {
    return finish('failed', 'stopped waiting; the target reverts by itself at the deadline unless confirmed');
  }
  report('reverting', 'the target is reverting', deadline);
  return waitForEnd(120_000);
}

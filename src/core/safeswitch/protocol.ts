/**
 * The calls of the safe-switch protocol, each one process on the target (a fresh ssh connection for remote
 * targets): probe, start, status, revert, confirm. The script they run is SAFE_SWITCH_SCRIPT.
 */
import { randomBytes } from 'node:crypto';
import { SAFE_SWITCH_SCRIPT } from './script';
import type { RunResult } from '../exec/process';
import { localArgv, runOnTarget, type Target, type TargetRunOptions } from '../target';

/** tmpfs on NixOS: forgotten on reboot, like the test activation itself. */
const DEFAULT_STATE_DIR = '/run/nixos-generations/safe-switch';

export type Launcher = 'auto' | 'systemd' | 'detached';

export interface ProtocolOptions extends TargetRunOptions {
  /** Where the watchdogs keep their files on the target (default DEFAULT_STATE_DIR). */
  stateDir?: string;
  /**
   * Runs the privileged steps (start, revert, confirm) when they cannot run in the background, e.g. in a terminal
   * where the user types the sudo password. Gets the full local argv (elevation included); must resolve with what
   * the command printed on stdout. Default: run it directly.
   */
  privilegedRunner?: (argv: string[], what: string) => Promise<RunResult>;
}

export interface WatchdogEvent {
  /** Epoch milliseconds on the target's clock (0 for synthetic lines). */
  at: number;
  event: string;
  detail: string;
}

/** A new id: time plus randomness, safe as a file name and a systemd unit name. */
export function newSwitchId(now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

/** The transient unit's name for a switch id. */
export function unitName(id: string): string {
  return `nixgen-safe-switch-${id}`;
}

/**
 * The systemd-run argv prefix that starts the watchdog as a transient service, outside any login session (so it
 * survives the ssh session and the editor). The watchdog script and its arguments are appended by the target.
 */
export function systemdRunArgv(id: string, env: Readonly<Record<string, string>> = {}): string[] {
  return [
    'systemd-run',
    `--unit=${unitName(id)}`,
    `--description=NixOS Generations safe switch ${id} (reverts unless confirmed)`,
    '--collect',
    '--quiet',
    '--no-ask-password',
    '--service-type=exec',
    '--property=KillMode=mixed',
    ...Object.entries(env).map(([k, v]) => `--setenv=${k}=${v}`),
    '--',
  ];
}

/** Parses `key=value` lines (the script's replies). */
export function parseReply(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) map.set(line.slice(0, eq).trim(), line.slice(eq + 1));
  }
  return map;
}

/** Parses the `events` file: `<ms> <event> <detail>` per line; malformed lines are skipped. */
export function parseEvents(text: string): WatchdogEvent[] {
  const events: WatchdogEvent[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9]+) ([a-z-]+)(?: (.*))?$/.exec(line);
    if (m) events.push({ at: Number(m[1]), event: m[2]!, detail: m[3] ?? '' });
  }
  return events;
}

/** Runs a privileged step: on this machine through `privilegedRunner` when given, else directly. */
function runPrivileged(target: Target, argv: string[], what: string, options: ProtocolOptions): Promise<RunResult> {
  if (options.privilegedRunner && target.kind === 'local') {
    return options.privilegedRunner(localArgv(target, argv, options), what);
  }
  return runOnTarget(target, argv, options);
}

function script(mode: string, args: readonly string[]): string[] {
  return ['sh', '-c', SAFE_SWITCH_SCRIPT, 'nixgen-safe-switch', mode, ...args];
}

function failure(stdout: string, stderr: string, exitCode: number | null, timedOut: boolean): string {
  const reply = parseReply(stdout);
  if (reply.has('error')) return reply.get('error')!;
  if (timedOut) return 'the target did not answer in time';
  const detail = stderr.trim().split('\n').slice(-3).join(' ');
  return detail || `exit ${exitCode}`;
}

export interface ProbeResult {
  systemd: boolean;
  setsid: boolean;
}

export async function probe(target: Target, options: ProtocolOptions = {}): Promise<ProbeResult> {
  const r = await runOnTarget(target, script('probe', []), { ...options, timeoutMs: options.timeoutMs ?? 30_000 });
  if (r.exitCode !== 0)
    throw new Error(`cannot probe the target: ${failure(r.stdout, r.stderr, r.exitCode, r.timedOut)}`);
  const reply = parseReply(r.stdout);
  return { systemd: reply.get('systemd') === 'yes', setsid: reply.get('setsid') === 'yes' };
}

export type StartResult =
  | {
      ok: true;
      id: string;
      launcher: 'systemd' | 'detached';
      previous: string;
      pid: number;
      staleLock: string | null;
      /** A systemd timer reverts if the watchdog itself dies (systemd launcher only). */
      backstop: boolean;
    }
  | { ok: false; busy: string | null; message: string };

/**
 * Commands the watchdog runs on the target around the activation (argv arrays, each word kept as it is): `before`
 * runs before the new system is activated (a failure reverts without activating it), `after` once it is active (a
 * failure reverts), `revert` after every revert, once the previous system is active again. `timeoutSeconds` is the
 * time they may take together; the backstop timer and the client's wait allow for it.
 */
export interface TransitionCommands {
  before: readonly string[];
  after: readonly string[];
  revert: readonly string[];
  timeoutSeconds: number;
}

export interface StartOptions extends ProtocolOptions {
  id: string;
  toplevel: string;
  confirmSeconds: number;
  runDir?: string;
  launcher?: Launcher;
  activateTimeoutSeconds?: number;
  transition?: TransitionCommands;
}

/** The words `start` passes for the transition commands; throws on a word the watchdog could not keep. */
export function transitionWords(t: TransitionCommands | undefined): string[] {
  const before = t?.before ?? [];
  const after = t?.after ?? [];
  const revert = t?.revert ?? [];
  for (const word of [...before, ...after, ...revert]) {
    if (/[\n\r\0]/.test(word)) throw new Error(`a transition command word holds a line break: ${JSON.stringify(word)}`);
  }
  const timeout = t && before.length + after.length > 0 ? Math.max(1, Math.round(t.timeoutSeconds)) : 0;
  return [
    String(timeout),
    String(before.length),
    String(after.length),
    String(revert.length),
    ...before,
    ...after,
    ...revert,
  ];
}

/** Takes the target's lock and starts the watchdog, which activates the new system with `test`. */
export async function start(target: Target, options: StartOptions): Promise<StartResult> {
  const args = [
    options.stateDir ?? DEFAULT_STATE_DIR,
    options.id,
    String(Math.max(1, Math.round(options.confirmSeconds))),
    options.toplevel,
    options.runDir ?? '/run',
    String(Math.max(1, Math.round(options.activateTimeoutSeconds ?? 600))),
    options.launcher ?? 'auto',
    SAFE_SWITCH_SCRIPT,
    ...transitionWords(options.transition),
    '--',
    ...(options.launcher === 'detached' ? [] : systemdRunArgv(options.id, options.env)),
  ];
  const r = await runPrivileged(target, script('start', args), 'start the safe switch', {
    ...options,
    timeoutMs: options.timeoutMs ?? 60_000,
  });
  const reply = parseReply(r.stdout);
  if (r.exitCode === 75) {
    const other = reply.get('busy') ?? null;
    return { ok: false, busy: other, message: `another safe switch (${other ?? 'unknown'}) is running on the target` };
  }
  if (r.exitCode !== 0 || !reply.has('id')) {
    return { ok: false, busy: null, message: failure(r.stdout, r.stderr, r.exitCode, r.timedOut) };
  }
  return {
    ok: true,
    id: reply.get('id')!,
    launcher: reply.get('launcher') === 'systemd' ? 'systemd' : 'detached',
    previous: reply.get('previous') ?? '',
    pid: Number(reply.get('pid') ?? 0),
    staleLock: reply.get('stale-lock') ?? null,
    backstop: reply.get('backstop') === 'timer',
  };
}

export interface StatusResult {
  events: WatchdogEvent[];
  /** The watchdog process still runs. */
  watchdogAlive: boolean;
}

export async function status(target: Target, id: string, options: ProtocolOptions = {}): Promise<StatusResult> {
  // reading needs no privileges: the files are world-readable
  const r = await runOnTarget(target, script('status', [options.stateDir ?? DEFAULT_STATE_DIR, id]), {
    ...options,
    elevate: [],
    timeoutMs: options.timeoutMs ?? 20_000,
  });
  if (r.exitCode !== 0) throw new Error(failure(r.stdout, r.stderr, r.exitCode, r.timedOut));
  const all = parseEvents(r.stdout);
  return {
    events: all.filter((e) => e.event !== 'watchdog-alive'),
    watchdogAlive: all.some((e) => e.event === 'watchdog-alive'),
  };
}

/** Asks the watchdog to revert now, with the reason it will record. */
export async function requestRevert(
  target: Target,
  id: string,
  reason: string,
  options: ProtocolOptions = {},
): Promise<void> {
  const oneLine = reason.replace(/[\r\n]+/g, ' ').slice(0, 500);
  const r = await runPrivileged(
    target,
    script('revert', [options.stateDir ?? DEFAULT_STATE_DIR, id, oneLine]),
    'revert',
    {
      ...options,
      timeoutMs: options.timeoutMs ?? 20_000,
    },
  );
  if (r.exitCode !== 0) throw new Error(failure(r.stdout, r.stderr, r.exitCode, r.timedOut));
}

export type ConfirmResult =
  { ok: true } | { ok: false; tooLate: boolean; activeButNotDefault: boolean; message: string };

/** Keeps the new system: claims the decision, sets the profile to it and runs `switch-to-configuration boot`. */
export async function confirm(
  target: Target,
  id: string,
  profile: string,
  options: ProtocolOptions = {},
): Promise<ConfirmResult> {
  const r = await runPrivileged(
    target,
    script('confirm', [options.stateDir ?? DEFAULT_STATE_DIR, id, profile]),
    'keep the new configuration',
    { ...options, timeoutMs: options.timeoutMs ?? 300_000 },
  );
  const reply = parseReply(r.stdout);
  if (r.exitCode === 0 && reply.get('ok') === 'kept') return { ok: true };
  if (r.exitCode === 3) {
    return { ok: false, tooLate: true, activeButNotDefault: false, message: 'too late: the target already reverted' };
  }
  return {
    ok: false,
    tooLate: false,
    activeButNotDefault: r.exitCode === 4,
    message: failure(r.stdout, r.stderr, r.exitCode, r.timedOut),
  };
}

/**
 * The safe switch: where it runs, how each privileged step is elevated, which profile and run directory, the
 * health checks, the words of the preview and of the question without one, what is recorded when kept, and how
 * the outcome reads. The watchdog protocol itself is core/safeswitch.
 */
import { elevationPrefix, type Elevation, type ElevationFacts } from '../deploy/elevation';
import { parseHealthChecks, type HealthCheck } from '../safeswitch/health';
import type { SafeSwitchResult } from '../safeswitch';
import { validateHost, type Target } from '../target';
import type { Settings } from '../settings';
import type { ActivationEntry, Confirmation } from './types';

export const SYSTEM_PROFILE = '/nix/var/nix/profiles/system';

/** This machine, or the `targetHost` setting over ssh; throws why a host is refused. */
export function safeSwitchTarget(targetHost: string): Target {
  const host = targetHost.trim();
  if (host === '') return { kind: 'local' };
  const problem = validateHost(host);
  if (problem) throw new Error(problem);
  return { kind: 'ssh', host };
}

/** The new system: its store path and its generation number when it is one. */
export interface NewSystem {
  storePath: string;
  generation: number | null;
}

export interface SafeSwitchPlanInput {
  target: Target;
  next: NewSystem;
  settings: Pick<Settings, 'elevation' | 'runDir' | 'safeSwitchConfirmSeconds' | 'safeSwitchHealthChecks'>;
  /** The local system profile's path (from the listings), when one was read. */
  systemProfile: string | undefined;
  facts: ElevationFacts;
}

export interface SafeSwitchPlan {
  /** "this machine" or the host, for every message. */
  where: string;
  remote: boolean;
  profile: string;
  runDir: string;
  confirmSeconds: number;
  /** The prefix of privileged steps ([] when they need none). */
  elevate: string[];
  /** Locally, privileged steps that need a password go through the terminal (elevate is then its prefix). */
  viaTerminal: boolean;
  healthChecks: HealthCheck[];
  /** Health check settings that were skipped, and why. */
  healthProblems: string[];
  /** What the history records when the new system is kept (remote targets keep their own history). */
  recordWhenKept: ActivationEntry | null;
  elevation: Elevation;
}

export function planSafeSwitch(input: SafeSwitchPlanInput): SafeSwitchPlan {
  const { target, next, settings } = input;
  const remote = target.kind === 'ssh';
  const where = target.kind === 'ssh' ? target.host : 'this machine';
  const elevate = elevationPrefix(
    settings.elevation,
    target.kind === 'ssh' ? { kind: 'ssh', host: target.host } : { kind: 'background' },
    input.facts,
  ).prefix;
  const { checks, problems } = parseHealthChecks(settings.safeSwitchHealthChecks);
  const profile = remote ? SYSTEM_PROFILE : (input.systemProfile ?? SYSTEM_PROFILE);
  return {
    where,
    remote,
    profile,
    runDir: remote ? '/run' : settings.runDir,
    confirmSeconds: settings.safeSwitchConfirmSeconds,
    elevate,
    viaTerminal: !remote && elevate.length > 0,
    healthChecks: checks,
    healthProblems: problems,
    recordWhenKept: remote
      ? null
      : { action: 'safe switch', profile, generation: next.generation, storePath: next.storePath },
    elevation: settings.elevation,
  };
}

/** The preview panel's title and note. */
export function previewWords(
  plan: SafeSwitchPlan,
  next: NewSystem,
  preview: {
    /** The running system's label or store path (named for a remote target). */
    from: string;
    /** Unit changes were previewed (dry-activate ran). */
    dry: boolean;
    /** One line per proposed transition (core/transitions). */
    transitions: readonly string[];
  },
): { title: string; note: string } {
  const { where, remote, confirmSeconds } = plan;
  const what = next.generation !== null ? `generation ${next.generation}` : 'the new configuration';
  return {
    title: remote ? `Safe switch on ${where} to ${what}` : `Safe switch to ${what}`,
    note:
      (remote ? `From: the system running on ${where} now (${preview.from}). ` : '') +
      `On ${where}: activated with "test" first; unless you keep it within ${confirmSeconds} s, ` +
      'the previous configuration comes back by itself. The boot default changes only when you keep it.' +
      (preview.dry
        ? ''
        : remote
          ? ' (Unit changes could not be previewed: see the warnings.)'
          : ' (Unit changes need root to be previewed.)') +
      preview.transitions.map((line) => ` Transition: ${line}`).join(''),
  };
}

/** The question when no preview could be made, with why. */
export function confirmWithoutPreview(plan: SafeSwitchPlan, next: NewSystem, unavailable: string): Confirmation {
  return {
    message: `Safe switch on ${plan.where}?`,
    detail:
      `${next.storePath}\n\nActivated with "test"; unless kept within ${plan.confirmSeconds} s it reverts by itself. ` +
      `(No preview: ${unavailable}.)`,
    action: 'Switch safely',
  };
}

/**
 * How the outcome is told: kept (information); reverted (the designed outcome when nobody kept it: information,
 * a warning when a health check or the activation failed); refused (warning); failed (error, logged).
 */
export function safeSwitchOutcome(
  result: SafeSwitchResult,
  where: string,
): { level: 'info' | 'warning' | 'error'; message: string; log: string | null } {
  switch (result.outcome) {
    case 'kept':
      return {
        level: 'info',
        message: `NixOS Generations: the new configuration on ${where} is kept and is the boot default.`,
        log: null,
      };
    case 'refused':
      return { level: 'warning', message: `NixOS Generations: safe switch refused: ${result.reason}`, log: null };
    case 'reverted': {
      const why = result.reason.replace(/^reverted to the previous configuration: /, '');
      const who = where === 'this machine' ? 'This machine' : where;
      const trouble = /health|check|activation|failed|exit/i.test(why);
      return {
        level: trouble ? 'warning' : 'info',
        message: `NixOS Generations: ${who} is back on the previous configuration: ${why}.`,
        log: trouble ? `safe switch on ${where} reverted: ${why}` : null,
      };
    }
    default:
      return {
        level: 'error',
        message: `NixOS Generations: safe switch failed on ${where}: ${result.reason}`,
        log: `safe switch on ${where} failed: ${result.reason}`,
      };
  }
}

/**
 * The flake reference for `nixos-rebuild build` run in a temporary directory: a local flake by its absolute
 * directory (keeping `#host`), anything else as it is.
 */
export function absoluteFlakeRef(flake: string | undefined, dir: string | undefined): string | undefined {
  if (flake && dir) return dir + (flake.includes('#') ? flake.slice(flake.indexOf('#')) : '');
  return flake;
}

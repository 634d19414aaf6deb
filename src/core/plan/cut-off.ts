/**
 * What a switch on another machine does when the new system changes how that machine is reached (core/diff/reach:
 * an address removed, sshd on another port, the firewall closing sshd's port…): it goes through safe switch, so
 * that a lost connection means the machine puts the previous system back by itself, unless the user insists.
 * The command line switches to safe switch by itself; the editor asks ("Safe Switch (recommended)" / "Switch
 * Anyway").
 */
import type { ReachFinding } from '../diff/reach';

export const SAFE_CHOICE = 'Safe Switch (recommended)';
export const ANYWAY_CHOICE = 'Switch Anyway';

export interface CutOffInput {
  /** The comparison of the running and the new system (null: it could not be made). */
  findings: readonly ReachFinding[] | null;
  /** The switch goes over ssh (a local switch cannot cut the operator off from the machine they sit at). */
  remote: boolean;
  /** The switch is already a safe switch. */
  safe: boolean;
  /** The user asked to switch without safe switch even so (`--switch-anyway`, or chose "Switch Anyway"). */
  insist: boolean;
  action: 'switch' | 'test' | 'boot';
  /** The machine, for the words. */
  where: string;
  /** Someone can answer a question (the editor); else the plan decides (the command line). */
  interactive: boolean;
}

export type CutOffPlan =
  /** Go on as asked; `note` (when set) is said first. */
  | { kind: 'proceed'; note: string | null }
  /** Go through safe switch instead (command line), saying `note`. */
  | { kind: 'safe'; note: string }
  /** Ask: `SAFE_CHOICE` or `ANYWAY_CHOICE` (editor). */
  | { kind: 'ask'; message: string; detail: string; choices: [typeof SAFE_CHOICE, typeof ANYWAY_CHOICE] }
  /** Do not switch; `note` says why and what to do. */
  | { kind: 'refuse'; note: string };

/** The findings that may cut the connection, as one line each. */
export function cutOffLines(findings: readonly ReachFinding[] | null): string[] {
  return (findings ?? []).filter((f) => f.cutsOff).map((f) => `- ${f.message}`);
}

export function planCutOff(input: CutOffInput): CutOffPlan {
  const lines = cutOffLines(input.findings);
  if (!input.remote) return { kind: 'proceed', note: null };
  if (input.findings === null) {
    return {
      kind: 'proceed',
      note: `how ${input.where} is reached after the switch could not be compared (its etc tree was not read)`,
    };
  }
  if (lines.length === 0 || input.safe) return { kind: 'proceed', note: null };
  const list = lines.join('\n');
  if (input.insist) {
    return {
      kind: 'proceed',
      note: `switching without safe switch as asked, although the new system may cut you off from ${input.where}:\n${list}`,
    };
  }
  if (input.action === 'boot') {
    return {
      kind: 'proceed',
      note: `after its next boot, ${input.where} may not be reachable as now:\n${list}`,
    };
  }
  if (input.interactive) {
    return {
      kind: 'ask',
      message: `The new system may cut you off from ${input.where}`,
      detail:
        `${list}\n\nWith safe switch, ${input.where} puts the previous system back by itself when the connection ` +
        'is lost and the switch is not confirmed in time.',
      choices: [SAFE_CHOICE, ANYWAY_CHOICE],
    };
  }
  if (input.action === 'test') {
    return {
      kind: 'refuse',
      note:
        `the new system may cut you off from ${input.where}:\n${list}\n` +
        'use --safe (it activates with test under a watchdog), or --switch-anyway',
    };
  }
  return {
    kind: 'safe',
    note: `the new system may cut you off from ${input.where}, so this switch is a safe switch (--switch-anyway to switch without it):\n${list}`,
  };
}

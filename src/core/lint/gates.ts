/** Evaluating the rule database: what a gate's default is for a stateVersion on a nixpkgs release. */
import { HOME_MANAGER_GATES, NIXOS_GATES, REMOVED_PACKAGES } from './data/gates';
import type { GateStep, StateVersionGate } from './data/gates';
import { compareVersions, LATEST_STABLE } from './releases';

export { HOME_MANAGER_GATES, NIXOS_GATES };
export type { StateVersionGate, GateStep };

/** The chain in force on `release` (the newest era not after it); undefined when the gate did not exist yet. */
export function chainFor(gate: StateVersionGate, release: string = LATEST_STABLE): GateStep[] | undefined {
  let chosen: GateStep[] | undefined;
  for (const chain of gate.chains) {
    if (compareVersions(chain.era, release) <= 0) chosen = chain.steps;
  }
  return chosen;
}

/** The default for `stateVersion` on `release`, or undefined when the gate does not exist on that release. */
export function defaultFor(gate: StateVersionGate, stateVersion: string, release?: string): GateStep | undefined {
  const steps = chainFor(gate, release);
  if (!steps) return undefined;
  let chosen: GateStep | undefined;
  for (const step of steps) {
    if (step.from === '' || compareVersions(stateVersion, step.from) >= 0) chosen = step;
  }
  return chosen;
}

/** The release that removed the package a step names, when it is gone on `release`. */
export function removedIn(step: GateStep, release: string = LATEST_STABLE): string | undefined {
  const attr = step.fix?.startsWith('pkgs.') ? step.fix.slice(5) : undefined;
  const gone = attr ? REMOVED_PACKAGES[attr] : undefined;
  return gone !== undefined && compareVersions(gone, release) <= 0 ? gone : undefined;
}

export interface Flip {
  gate: StateVersionGate;
  from: GateStep;
  to: GateStep;
}

/** What changes between two stateVersions (same release), or between two releases (same stateVersion). */
export function flips(
  gates: readonly StateVersionGate[],
  a: { stateVersion: string; release?: string },
  b: { stateVersion: string; release?: string },
): Flip[] {
  const out: Flip[] = [];
  for (const gate of gates) {
    const from = defaultFor(gate, a.stateVersion, a.release);
    const to = defaultFor(gate, b.stateVersion, b.release);
    if (from && to && from.value !== to.value) out.push({ gate, from, to });
  }
  return out;
}

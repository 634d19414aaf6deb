/**
 * The machines of a workspace: every host the flake deploys to (deploy-rs `deploy.nodes.<n>.hostname` / `sshUser`,
 * a colmena hive's `deployment.targetHost` / `targetUser`, or a `nixosConfigurations` host), plus the machine-scoped
 * setting `nixosGenerations.machines` (host -> "user@host[:port]"), which wins over what the flake says. Each gets
 * the ssh target the explorer and the commands use; a host without one stays listed, saying how to give it one.
 *
 * Static reading only (core/fleet/deploy's readFlakeFleet, nothing evaluated), so a hostile flake can name hosts but
 * never run anything; every destination passes the same host validation as --target-host.
 */
import { validateHost, type Target } from '../target';
import type { FlakeFleet } from './deploy';

export type MachineSource = 'setting' | 'deploy-rs' | 'colmena' | 'nixosConfigurations';

export interface FleetMachine {
  /** The host's name in the flake or in the setting (what the user calls it). */
  name: string;
  /** `user@host` or `host`, as ssh takes it; null when there is none (then `problem` says why). */
  destination: string | null;
  port?: number;
  source: MachineSource;
  /** Why the machine cannot be reached from here at all (no target, a refused target). */
  problem?: string;
}

export const MACHINES_SETTING = 'nixosGenerations.machines';

/** Parses "user@host", "host", "user@host:2222" or "user@[fe80::1]:2222"; an error string when refused. */
export function parseSshTarget(text: string): { destination: string; port?: number } | string {
  const trimmed = text.trim();
  let destination = trimmed;
  let port: number | undefined;
  const bracketed = /^(.*@)?\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  const withPort = /^([^:[\]]+):(\d+)$/.exec(trimmed);
  if (bracketed) {
    destination = `${bracketed[1] ?? ''}${bracketed[2]}`;
    if (bracketed[3] !== undefined) port = Number(bracketed[3]);
  } else if (withPort) {
    destination = withPort[1]!;
    port = Number(withPort[2]);
  }
  const problem = validateHost(destination);
  if (problem) return problem;
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    return `the port of "${trimmed}" is not between 1 and 65535`;
  }
  return port === undefined ? { destination } : { destination, port };
}

/** The setting's value as host -> target text; entries that are not strings are left out (and reported). */
export function parseMachinesSetting(value: unknown): { targets: Record<string, string>; problems: string[] } {
  const targets: Record<string, string> = {};
  const problems: string[] = [];
  if (value === undefined || value === null) return { targets, problems };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { targets, problems: [`${MACHINES_SETTING} must be an object of host name -> "user@host[:port]"`] };
  }
  for (const [name, target] of Object.entries(value as Record<string, unknown>)) {
    if (typeof target === 'string') targets[name] = target;
    else problems.push(`${MACHINES_SETTING}.${name} is not a string`);
  }
  return { targets, problems };
}

export interface WorkspaceMachinesInput {
  /** From the machine-scoped setting: host name -> "user@host[:port]". */
  setting: Readonly<Record<string, string>>;
  /** What the workspace flake says (null: no flake). */
  fleet: FlakeFleet | null;
  /** This machine's host name: a flake host of that name is the local machine, not a remote one. */
  localHostName?: string | null;
}

/** The remote machines of the workspace, sorted by name; the setting's entries replace the flake's targets. */
export function workspaceMachines(input: WorkspaceMachinesInput): FleetMachine[] {
  const byName = new Map<string, FleetMachine>();
  const fleet = input.fleet;
  if (fleet) {
    const source: MachineSource = fleet.engine === 'nixos-rebuild' ? 'nixosConfigurations' : fleet.engine;
    for (const node of fleet.nodes) {
      if (node.hostname === null) {
        // a plain nixosConfigurations host with no target is this machine, or one the setting must name
        if (source === 'nixosConfigurations' && node.name === input.localHostName) continue;
        byName.set(node.name, {
          name: node.name,
          destination: null,
          source,
          problem:
            source === 'nixosConfigurations'
              ? `no ssh target: add "${node.name}": "user@host" to ${MACHINES_SETTING}`
              : `its ${source} host name is not a plain string: add "${node.name}": "user@host" to ${MACHINES_SETTING}`,
        });
        continue;
      }
      byName.set(node.name, machineOf(node.name, `${node.user ? `${node.user}@` : ''}${node.hostname}`, source));
    }
  }
  for (const [name, text] of Object.entries(input.setting)) {
    byName.set(name, machineOf(name, text, 'setting'));
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function machineOf(name: string, text: string, source: MachineSource): FleetMachine {
  const parsed = parseSshTarget(text);
  if (typeof parsed === 'string') return { name, destination: null, source, problem: parsed };
  return { name, source, ...parsed };
}

/** The ssh target of a machine (null when it has none), with the user's ssh options (NIX_SSHOPTS). */
export function machineTarget(
  machine: FleetMachine,
  sshArgs: readonly string[] = [],
  reuse = true,
): Extract<Target, { kind: 'ssh' }> | null {
  if (machine.destination === null || machine.problem) return null;
  return {
    kind: 'ssh',
    host: machine.destination,
    ...(machine.port !== undefined ? { port: machine.port } : {}),
    sshArgs,
    reuse,
  };
}

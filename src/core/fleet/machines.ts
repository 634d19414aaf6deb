/**
 * The machines of a workspace: every host the flake deploys to (deploy-rs `deploy.nodes.<n>.hostname` / `sshUser`,
 * a colmena hive's `deployment.targetHost` / `targetUser`, or a `nixosConfigurations` host), plus the machine-scoped
 * setting `nixosGenerations.machines` (host -> "user@host[:port]"), which wins over what the flake says. Each gets
 * the ssh target the explorer and the commands use; a host without one stays listed, saying how to give it one.
 *
 * Static reading only (core/fleet/deploy's readFlakeFleet, nothing evaluated), so a hostile flake can name hosts but
 * never run anything; every destination passes the same host validation as --target-host.
 */
import * as path from 'node:path';
import { readFlakeFiles } from '../deploy/pin';
import { discoverHosts, sourceTreeOf } from '../hosts';
import { validateHost, type Target } from '../target';
import { readFlakeFleet, type FlakeFleet } from './deploy';

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
  /**
   * Whether the workspace is trusted. An untrusted repository may name hosts, but nothing connects to them: its
   * machines are listed as not contacted (the setting's targets, machine-scoped, are the user's own).
   */
  trusted?: boolean;
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
        // a flake of one host without any target is the configuration of the machine the editor runs on (or its
        // user's only one): not a fleet, nothing to list beside the local profiles
        if (source === 'nixosConfigurations' && fleet.nodes.length === 1) continue;
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
      const machine = machineOf(node.name, `${node.user ? `${node.user}@` : ''}${node.hostname}`, source);
      if (input.trusted === false && !machine.problem) {
        machine.problem = `not contacted: the workspace is not trusted (its flake names ${machine.destination})`;
        machine.destination = null;
      }
      byName.set(node.name, machine);
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

/**
 * What the flake in `flakeDir` says about its machines, read statically (its .nix files, no evaluation); null when
 * the directory has no flake.nix. Never rejects.
 */
export async function readWorkspaceFleet(flakeDir: string): Promise<FlakeFleet | null> {
  try {
    const files = await readFlakeFiles(flakeDir);
    const flakePath = path.join(flakeDir, 'flake.nix');
    if (!files.has(flakePath)) return null;
    const tree = sourceTreeOf(files);
    const hosts = discoverHosts(flakePath, tree)
      .hosts.filter((h) => h.kind === 'nixos')
      .map((h) => h.name);
    return readFlakeFleet(flakePath, tree, hosts);
  } catch {
    return null;
  }
}

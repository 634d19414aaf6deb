/**
 * The identity guard: before a system is activated on a machine, the host it was built for must be the machine it
 * lands on. The accident it prevents: a script mix-up puts machine A's system (and with it A's addresses) on machine
 * B, B becomes unreachable, and B is rebuilt by hand.
 *
 * What a system says it is for: its `etc/hostname` (NixOS writes networking.hostName there), else the host in its
 * store name `nixos-system-<hostName>-<label>`; and, when the configuration records one, its `etc/machine-id`.
 * What the machine says it is: `/etc/hostname` (else the kernel's host name), the host of the system it runs now
 * (`/run/current-system`), and `/etc/machine-id`. A mismatch is refused with both names, unless a rename is confirmed.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { parseRemoteRecords } from '../diff/remote';
import { runOnTarget, type Target, type TargetRunOptions } from '../target';

/** The host name in a toplevel's store name, given its label when known (`nixos-system-web-1-24.11.2024…`). */
export function hostOfSystemName(storePath: string, label?: string | null): string | null {
  const name = path.basename(storePath).replace(/^[0-9a-z]{32}-/, '');
  if (!name.startsWith('nixos-system-')) return null;
  const rest = name.slice('nixos-system-'.length);
  if (label && rest.endsWith(`-${label}`) && rest.length > label.length + 1) {
    return rest.slice(0, rest.length - label.length - 1);
  }
  // without the label: the host ends where the version begins (YY.MM, as every NixOS label starts unless customised)
  const m = /^(.+?)-(?:git-[0-9a-f]+-)?\d{2}\.\d{2}(?:pre)?[.-]/.exec(rest);
  return m ? m[1]! : null;
}

export interface SystemIdentity {
  storePath: string;
  /** The system's nixos-version (its label), when read. */
  label?: string | null;
  /** Its etc/hostname, when it has one. */
  etcHostname?: string | null;
  /** Its etc/machine-id, when the configuration records one. */
  machineId?: string | null;
}

export interface MachineIdentity {
  /** What the machine is called by the user (its ssh target or "this machine"). */
  target: string;
  /** /etc/hostname, else the kernel's host name. */
  hostname: string | null;
  machineId: string | null;
  /** The system it runs now, with its label when known. */
  current: SystemIdentity | null;
}

export type IdentityVerdict =
  | { status: 'match'; host: string; message: string }
  | { status: 'unknown'; message: string }
  | { status: 'rename-confirmed'; from: string; to: string; message: string }
  | { status: 'mismatch'; systemHost: string | null; machineHost: string | null; message: string };

function clean(value: string | null | undefined): string | null {
  const v = value?.split('\n')[0]?.trim();
  return v ? v : null;
}

/** The host a system is built for: its etc/hostname, else its store name. */
export function systemHost(system: SystemIdentity): string | null {
  return clean(system.etcHostname) ?? hostOfSystemName(system.storePath, system.label);
}

/**
 * Decides whether `system` may be activated on `machine`. `allowRename`: the user confirmed that the machine is
 * being renamed to the system's host name (the machine-id must still match when the system records one).
 */
export function checkIdentity(system: SystemIdentity, machine: MachineIdentity, allowRename = false): IdentityVerdict {
  const want = systemHost(system);
  const etc = clean(machine.hostname);
  const running = machine.current ? systemHost(machine.current) : null;
  const is = etc ?? running;
  const wantId = clean(system.machineId);
  const hasId = clean(machine.machineId);
  if (wantId && hasId && wantId !== hasId) {
    return {
      status: 'mismatch',
      systemHost: want,
      machineHost: is,
      message:
        `refusing to activate ${path.basename(system.storePath)} on ${machine.target}: the system records machine-id ` +
        `${wantId}${want ? ` (host "${want}")` : ''}, but ${machine.target} has machine-id ${hasId}` +
        `${is ? ` (host "${is}")` : ''}. This is another machine.`,
    };
  }
  if (want === null) {
    return {
      status: 'unknown',
      message: `cannot tell which host ${path.basename(system.storePath)} is built for (no etc/hostname, no host in its name)`,
    };
  }
  if (is === null) {
    return {
      status: 'unknown',
      message: `${machine.target} does not say its host name (no /etc/hostname, no current system)`,
    };
  }
  if (is === want) {
    return { status: 'match', host: want, message: `${machine.target} is "${want}", as the system expects` };
  }
  const says = [
    etc ? `/etc/hostname says "${etc}"` : null,
    running ? `it runs ${machine.current ? path.basename(machine.current.storePath) : ''} (host "${running}")` : null,
  ]
    .filter(Boolean)
    .join(', ');
  if (allowRename) {
    return {
      status: 'rename-confirmed',
      from: is,
      to: want,
      message: `renaming ${machine.target} from "${is}" to "${want}" (confirmed)`,
    };
  }
  return {
    status: 'mismatch',
    systemHost: want,
    machineHost: is,
    message:
      `refusing to activate a system built for host "${want}" (${path.basename(system.storePath)}) on ` +
      `${machine.target}, which is "${is}": ${says}. If ${machine.target} is really being renamed to "${want}", ` +
      `confirm the rename (--allow-rename).`,
  };
}

/**
 * One call on the target that reports both identities: `sh -c SCRIPT nixgen-identity MARK NEW RUNDIR`. Records as
 * in the remote list (`MARK kind -`, bytes, `\nMARK end`).
 */
export const IDENTITY_SCRIPT = `m=$1 new=$2 rundir=$3
rec() { printf '%s %s -\\n' "$m" "$1"; }
fin() { printf '\\n%s end\\n' "$m"; }
one() { rec "$1"; [ -f "$2" ] && head -c 4096 -- "$2"; fin; }
one hostname /etc/hostname
rec kernel-hostname; hostname 2>/dev/null || cat /proc/sys/kernel/hostname 2>/dev/null; fin
one machine-id /etc/machine-id
cur=$(readlink -f -- "$rundir/current-system" 2>/dev/null)
rec current; printf '%s' "$cur"; fin
[ -n "$cur" ] && one current-label "$cur/nixos-version"
[ -n "$cur" ] && one current-etc-hostname "$cur/etc/hostname"
rec new-exists; [ -x "$new/bin/switch-to-configuration" ] && printf yes; fin
one new-label "$new/nixos-version"
one new-etc-hostname "$new/etc/hostname"
one new-machine-id "$new/etc/machine-id"
rec nix-env; command -v nix-env; fin
rec done; fin
`;

export interface TargetFacts {
  machine: MachineIdentity;
  system: SystemIdentity;
  /** The new system is on the target and has bin/switch-to-configuration. */
  systemPresent: boolean;
  /** nix-env on the target's PATH, or null. */
  nixEnv: string | null;
}

/** Reads both identities with one call on the target; rejects when the target cannot be reached. */
export async function readTargetFacts(
  target: Target,
  newSystem: string,
  options: TargetRunOptions & { runDir?: string } = {},
): Promise<TargetFacts> {
  const mark = `nixgen-${randomBytes(8).toString('hex')}`;
  const where = target.kind === 'ssh' ? target.host : 'this machine';
  const r = await runOnTarget(
    target,
    ['sh', '-c', IDENTITY_SCRIPT, 'nixgen-identity', mark, newSystem, options.runDir ?? '/run'],
    { timeoutMs: 30_000, maxOutputBytes: 1024 * 1024, ...options },
  );
  const records = parseRemoteRecords(r.stdout, mark);
  if (!records.some((x) => x.kind === 'done')) {
    const why = r.timedOut ? 'no answer in time' : r.stderr.trim().split('\n').slice(-1)[0] || `exit ${r.exitCode}`;
    throw new Error(`cannot read ${where}: ${why}`);
  }
  const get = (kind: string): string | null => clean(records.find((x) => x.kind === kind)?.body);
  const current = get('current');
  return {
    machine: {
      target: where,
      hostname: get('hostname') ?? get('kernel-hostname'),
      machineId: get('machine-id'),
      current: current
        ? { storePath: current, label: get('current-label'), etcHostname: get('current-etc-hostname') }
        : null,
    },
    system: {
      storePath: newSystem,
      label: get('new-label'),
      etcHostname: get('new-etc-hostname'),
      machineId: get('new-machine-id'),
    },
    systemPresent: get('new-exists') === 'yes',
    nixEnv: get('nix-env'),
  };
}

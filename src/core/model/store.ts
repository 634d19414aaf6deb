/**
 * The explorer's data, apart from any view: per machine, its profile listings and reboot status, with change
 * events. The tree, the status bar and the commands read it; nothing mutates a listing in place — a load replaces
 * a machine's data, details learned later (closure sizes, commits) replace the generations they concern.
 * Machines are the first key: `LOCAL_MACHINE` is this one; remote machines get `machineKey(host)`.
 */
import type { Drift } from '../fleet/drift';
import type { UnreachableKind } from '../fleet/remote-list';
import type { Generation, ProfileListing, ProfileRef, RebootStatus } from '../generations/types';

/** `local`, or `ssh:<user@host>` for a remote machine. */
export type MachineKey = 'local' | `ssh:${string}`;

export const LOCAL_MACHINE: MachineKey = 'local';

export function machineKey(host: string | null | undefined): MachineKey {
  const trimmed = host?.trim() ?? '';
  return trimmed === '' ? LOCAL_MACHINE : `ssh:${trimmed}`;
}

export interface MachineData {
  machine: MachineKey;
  listings: readonly ProfileListing[];
  reboot: RebootStatus | undefined;
  /** Why the machine could not be read at all, when it could not. */
  problem?: string;
  /** For a remote machine: how it is reached and what its last answer said. */
  remote?: RemoteMachineState;
}

/** A remote machine as the explorer shows it (core/fleet/view fills it). */
export interface RemoteMachineState {
  /** The host's name in the flake or the setting. */
  name: string;
  /** `user@host[:port]`, or null when it has no ssh target. */
  destination: string | null;
  /** The ssh port, when not ssh's default. */
  port?: number;
  /** Where the target comes from: the setting, deploy-rs, colmena, nixosConfigurations. */
  source: string;
  /** `loading`: a read is under way (what was read before stays shown). */
  status: 'loading' | 'reachable' | 'unreachable' | 'no-target';
  /** Why it is unreachable (or has no target). */
  unreachable?: { kind: UnreachableKind | 'no-target'; message: string };
  /** When it last answered (epoch ms), also from earlier sessions; null: never. */
  lastSeen: number | null;
  /** The host name the machine gave (/etc/hostname). */
  hostname: string | null;
  /** What it runs against the workspace's HEAD; null until known. */
  drift: Drift | null;
}

export interface StoreChange {
  machine: MachineKey;
  /** `loaded`: the machine's data was replaced; `details`: some generations gained details. */
  kind: 'loaded' | 'details';
}

export interface Subscription {
  dispose(): void;
}

const EMPTY: readonly ProfileListing[] = Object.freeze([]);

export class GenerationsStore {
  private readonly machines = new Map<MachineKey, MachineData>();
  private readonly listeners = new Set<(change: StoreChange) => void>();

  /** Calls `listener` after every change; dispose the result to stop. */
  onDidChange(listener: (change: StoreChange) => void): Subscription {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** The machines with data, this one first. */
  machineKeys(): MachineKey[] {
    return [...this.machines.keys()].sort((a, b) => (a === LOCAL_MACHINE ? -1 : b === LOCAL_MACHINE ? 1 : 0));
  }

  get(machine: MachineKey = LOCAL_MACHINE): MachineData | undefined {
    return this.machines.get(machine);
  }

  /** A machine's listings ([] before its first load). */
  listings(machine: MachineKey = LOCAL_MACHINE): readonly ProfileListing[] {
    return this.machines.get(machine)?.listings ?? EMPTY;
  }

  /** Whether the machine has been loaded at least once. */
  loaded(machine: MachineKey = LOCAL_MACHINE): boolean {
    return this.machines.has(machine);
  }

  rebootStatus(machine: MachineKey = LOCAL_MACHINE): RebootStatus | undefined {
    return this.machines.get(machine)?.reboot;
  }

  /** The activated generation (runDir/current-system) and its profile, if any profile has it. */
  activated(machine: MachineKey = LOCAL_MACHINE): { profile: ProfileRef; generation: Generation } | undefined {
    for (const listing of this.listings(machine)) {
      const generation = listing.generations.find((g) => g.activated);
      if (generation) return { profile: listing.profile, generation };
    }
    return undefined;
  }

  /** One generation by profile path and number, as it is now. */
  generation(profilePath: string, number: number, machine: MachineKey = LOCAL_MACHINE): Generation | undefined {
    return this.listings(machine)
      .find((l) => l.profile.path === profilePath)
      ?.generations.find((g) => g.generation === number);
  }

  /** Replaces a machine's data (a completed load). */
  set(data: MachineData): void {
    this.machines.set(data.machine, data);
    this.fire({ machine: data.machine, kind: 'loaded' });
  }

  /**
   * Gives generations details learned later: `patch` returns the fields to change (or nothing). Changed
   * generations and their listings are replaced, never edited. Returns how many generations changed.
   */
  patchGenerations(
    machine: MachineKey,
    patch: (g: Generation, profile: ProfileRef) => Partial<Generation> | undefined,
  ): number {
    const data = this.machines.get(machine);
    if (!data) return 0;
    let changed = 0;
    const listings = data.listings.map((listing) => {
      let touched = false;
      const generations = listing.generations.map((g) => {
        const fields = patch(g, listing.profile);
        if (!fields || Object.entries(fields).every(([k, v]) => g[k as keyof Generation] === v)) return g;
        touched = true;
        changed++;
        return { ...g, ...fields };
      });
      return touched ? { ...listing, generations } : listing;
    });
    if (changed > 0) {
      this.machines.set(machine, { ...data, listings });
      this.fire({ machine, kind: 'details' });
    }
    return changed;
  }

  /** Forgets a machine (a remote one removed from the settings). */
  delete(machine: MachineKey): void {
    if (this.machines.delete(machine)) this.fire({ machine, kind: 'loaded' });
  }

  private fire(change: StoreChange): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch {
        // one listener's failure must not stop the others
      }
    }
  }
}

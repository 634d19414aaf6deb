/**
 * The fleet as the explorer shows it: each remote machine read on its own (one ssh connection, a timeout), so a
 * slow or dead machine never holds back the others; what it runs against the workspace's HEAD (drift); when it was
 * last seen (kept between sessions by the editor, in a small bounded record) and why it cannot be reached now.
 * Plain data for the GenerationsStore; the tree only draws it.
 */
import { formatAge } from '../format';
import type { GitRepository } from '../exec/git';
import { machineKey, type MachineData, type MachineKey, type RemoteMachineState } from '../model/store';
import { describeDrift, driftOf, fleetSummary, type Drift } from './drift';
import { machineTarget, type FleetMachine } from './machines';
import { readRemoteGenerations, type RemoteListing } from './remote-list';

/** When each machine last answered, by `fleetMachineKey`: what the editor keeps between sessions. */
export type LastSeenBook = Record<string, { at: number; hostname: string | null }>;

/** A record kept between sessions stays small whatever was stored: at most this many machines. */
export const LAST_SEEN_MAX = 500;

/** The store's key of a fleet machine: its ssh destination (with a port other than ssh's), else its name. */
export function fleetMachineKey(machine: FleetMachine): MachineKey {
  if (machine.destination === null) return machineKey(`${machine.name} (no target)`);
  return machineKey(machine.port !== undefined ? `${machine.destination}:${machine.port}` : machine.destination);
}

/** A stored record as read back (anything else is dropped, never trusted). */
export function parseLastSeen(value: unknown): LastSeenBook {
  const book: LastSeenBook = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return book;
  for (const [key, entry] of Object.entries(value as Record<string, unknown>).slice(0, LAST_SEEN_MAX)) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { at, hostname } = entry as { at?: unknown; hostname?: unknown };
    if (typeof at !== 'number' || !Number.isFinite(at) || at <= 0) continue;
    book[key] = { at, hostname: typeof hostname === 'string' ? hostname.slice(0, 256) : null };
  }
  return book;
}

/** The book after `data` arrived: a reachable machine's answer time replaces the old one; the newest kept first. */
export function updateLastSeen(book: LastSeenBook, data: readonly MachineData[]): LastSeenBook {
  const next: LastSeenBook = { ...book };
  for (const d of data) {
    if (d.remote?.status === 'reachable' && d.remote.lastSeen !== null) {
      next[d.machine] = { at: d.remote.lastSeen, hostname: d.remote.hostname };
    }
  }
  const entries = Object.entries(next).sort((a, b) => b[1].at - a[1].at);
  return Object.fromEntries(entries.slice(0, LAST_SEEN_MAX));
}

export interface FleetReadOptions {
  /** ssh options of the user (NIX_SSHOPTS), before the destination. */
  sshArgs?: readonly string[];
  timeoutMs?: number;
  /** The workspace's repository, for drift (none: drift says "no git repository"). */
  repo?: GitRepository;
  lastSeen?: LastSeenBook;
  closureSize?: boolean;
  localEnv?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Reuse one connection per machine (default true). */
  reuse?: boolean;
}

/** The state of a machine before (or without) an answer: what was known, marked as loading or without target. */
export function pendingMachine(
  machine: FleetMachine,
  previous: MachineData | undefined,
  lastSeen: LastSeenBook = {},
): MachineData {
  const key = fleetMachineKey(machine);
  const seen = lastSeen[key];
  const noTarget = machine.destination === null || machine.problem !== undefined;
  const remote: RemoteMachineState = {
    name: machine.name,
    destination: machine.destination,
    ...(machine.port !== undefined ? { port: machine.port } : {}),
    source: machine.source,
    status: noTarget ? 'no-target' : 'loading',
    ...(noTarget ? { unreachable: { kind: 'no-target', message: machine.problem ?? 'no ssh target' } } : {}),
    lastSeen: previous?.remote?.lastSeen ?? seen?.at ?? null,
    hostname: previous?.remote?.hostname ?? seen?.hostname ?? null,
    drift: noTarget ? { kind: 'unknown', why: 'unreachable' } : (previous?.remote?.drift ?? null),
  };
  return {
    machine: key,
    listings: noTarget ? [] : (previous?.listings ?? []),
    reboot: noTarget ? undefined : previous?.reboot,
    remote,
  };
}

/** What an answer (or its absence) makes of a machine. */
export function machineFromListing(
  machine: FleetMachine,
  listing: RemoteListing,
  drift: Drift,
  previous: MachineData | undefined,
  lastSeen: LastSeenBook = {},
): MachineData {
  const base = pendingMachine(machine, previous, lastSeen);
  if (listing.problem || !listing.listing) {
    return {
      ...base,
      // what was read before stays visible, marked by the machine's row as not current
      remote: {
        ...base.remote!,
        status: 'unreachable',
        unreachable: listing.problem ?? { kind: 'error', message: 'no answer' },
        drift: { kind: 'unknown', why: 'unreachable' },
      },
      problem: listing.problem?.message ?? 'no answer',
    };
  }
  return {
    machine: base.machine,
    listings: [listing.listing],
    reboot: listing.reboot ?? undefined,
    remote: {
      ...base.remote!,
      status: 'reachable',
      lastSeen: listing.at,
      hostname: listing.facts?.hostname ?? null,
      drift,
    },
  };
}

/** Reads one machine: its system generations over one ssh connection, then its drift. Never rejects. */
export async function readFleetMachine(
  machine: FleetMachine,
  previous: MachineData | undefined,
  options: FleetReadOptions = {},
): Promise<MachineData> {
  const target = machineTarget(machine, options.sshArgs ?? [], options.reuse ?? true);
  if (!target) return pendingMachine(machine, previous, options.lastSeen);
  const listing = await readRemoteGenerations(target, {
    closureSize: options.closureSize ?? true,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.localEnv ? { localEnv: options.localEnv } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const running = listing.listing?.generations.find((g) => g.activated) ?? null;
  const drift: Drift = listing.listing
    ? await driftOf(running?.configurationRevision ?? null, options.repo)
    : { kind: 'unknown', why: 'unreachable' };
  return machineFromListing(machine, listing, drift, previous, options.lastSeen);
}

/**
 * Reads every machine side by side; `deliver` gets each one as soon as it is known (first all of them pending,
 * then each answer in the order they arrive). Resolves when the last one answered or timed out.
 */
export async function readFleet(
  machines: readonly FleetMachine[],
  previous: (key: MachineKey) => MachineData | undefined,
  deliver: (data: MachineData) => void,
  options: FleetReadOptions = {},
): Promise<MachineData[]> {
  for (const m of machines) deliver(pendingMachine(m, previous(fleetMachineKey(m)), options.lastSeen));
  return Promise.all(
    machines.map(async (m) => {
      const data = await readFleetMachine(m, previous(fleetMachineKey(m)), options);
      deliver(data);
      return data;
    }),
  );
}

/** The machine's row text: "up to date · web-1", "unreachable: timeout … · last seen 3 hours ago", "reading…". */
export function describeMachine(state: RemoteMachineState, now: Date = new Date()): string {
  const seen =
    state.lastSeen !== null ? `last seen ${formatAge(new Date(state.lastSeen).toISOString(), now)}` : 'never seen';
  switch (state.status) {
    case 'no-target':
      return state.unreachable?.message ?? 'no ssh target';
    case 'loading':
      return state.drift ? `reading… (${describeDrift(state.drift)})` : 'reading…';
    case 'unreachable':
      return `unreachable (${state.unreachable?.message ?? 'no answer'}) · ${seen}`;
    case 'reachable':
      return state.drift ? describeDrift(state.drift) : 'reachable';
  }
}

/** The fleet's summary row over the machines known so far (null when there are none). */
export function fleetSummaryOf(data: readonly MachineData[]): string | null {
  const remote = data.filter((d) => d.remote !== undefined);
  if (remote.length === 0) return null;
  const loading = remote.filter((d) => d.remote!.status === 'loading' && d.remote!.drift === null).length;
  const known = remote
    .filter((d) => !(d.remote!.status === 'loading' && d.remote!.drift === null))
    .map((d) => d.remote!.drift ?? ({ kind: 'unknown', why: 'unreachable' } as const));
  if (known.length === 0) return `${remote.length} machine${remote.length === 1 ? '' : 's'}: reading…`;
  const summary = fleetSummary(known);
  return loading > 0 ? `${summary}; ${loading} still reading` : summary;
}

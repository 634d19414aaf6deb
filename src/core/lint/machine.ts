/**
 * What the explorer knows about the machine the editor runs on, as the lint needs it: which release the machine's
 * oldest generation was built with (the best evidence of the release it was installed with) and which commit the
 * activated generation was built from. The extension derives it from its listings (`machineFactsOf`) and sends it
 * to the language server (core/protocol: `NOTIFICATIONS.machineFacts`); the rules only read it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProfileListing } from '../generations/types';
import { isNixosRelease } from './releases';

export interface MachineFacts {
  /** This machine's host name, to tell which configuration of a many-host flake it runs. */
  hostName?: string;
  /** The oldest system generation still on the machine and the NixOS release it was built with. */
  oldest?: { generation: number; release: string };
  /** The activated system generation and the commit it was built from (system.configurationRevision), if known. */
  activated?: { generation: number; revision?: string };
}

/** The facts of the local machine from its listings: its system profile's oldest and activated generations. */
export function machineFactsOf(listings: readonly ProfileListing[], hostName?: string): MachineFacts {
  const facts: MachineFacts = {};
  if (hostName) facts.hostName = hostName;
  const system = listings.find((l) => l.profile.kind === 'system' && l.generations.length > 0);
  if (!system) return facts;
  // generations are oldest first; a garbage-collected one has no release to read
  const oldest = system.generations.find((g) => g.kind !== 'home-manager' && g.release && isNixosRelease(g.release));
  if (oldest?.release) facts.oldest = { generation: oldest.generation, release: oldest.release };
  const activated = system.generations.find((g) => g.activated);
  if (activated) {
    facts.activated = {
      generation: activated.generation,
      ...(activated.configurationRevision && /^[0-9a-f]{7,40}$/.test(activated.configurationRevision)
        ? { revision: activated.configurationRevision }
        : {}),
    };
  }
  return facts;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * Facts from any client, checked field by field: a malformed field is left out (never thrown), a host name is a
 * plain name, a release is a NixOS release and a revision a git object id, so nothing else reaches a message or git.
 */
export function parseMachineFacts(value: unknown): MachineFacts {
  const o = record(value);
  if (!o) return {};
  const facts: MachineFacts = {};
  if (typeof o.hostName === 'string' && /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(o.hostName))
    facts.hostName = o.hostName;
  const oldest = record(o.oldest);
  const oldestNumber = count(oldest?.generation);
  if (oldestNumber !== undefined && typeof oldest?.release === 'string' && isNixosRelease(oldest.release))
    facts.oldest = { generation: oldestNumber, release: oldest.release };
  const activated = record(o.activated);
  const activatedNumber = count(activated?.generation);
  if (activatedNumber !== undefined) {
    const revision = activated?.revision;
    facts.activated = {
      generation: activatedNumber,
      ...(typeof revision === 'string' && /^[0-9a-f]{7,40}$/.test(revision) ? { revision } : {}),
    };
  }
  return facts;
}

/**
 * The host name a system generation was built for: its `etc/hostname` (NixOS writes networking.hostName there),
 * read bounded; undefined when it has none or it is not a plain host name.
 */
export function hostNameOf(storePath: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(path.join(storePath, 'etc', 'hostname'), 'r');
    const buffer = Buffer.alloc(256);
    const n = fs.readSync(fd, buffer, 0, buffer.length, 0);
    const name = buffer.subarray(0, n).toString('utf8').trim();
    return /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(name) ? name : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

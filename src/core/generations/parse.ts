/**
 * Pure parsing of what a profile directory and a generation's store path hold: link names, labels, bootspec
 * (boot.json), os-release, the nixos-version script and home-manager's hm-version. Bad input never throws here:
 * every function returns null (or an empty result) for what it cannot read.
 */
import { codenameForRelease } from './releases';

/** Largest generation number accepted (Nix stores them as unsigned 32-bit integers). */
const MAX_GENERATION = 0xffffffff;

/**
 * The generation number of a directory entry of the profile named `profileBase` (`system-42-link` -> 42), or null
 * for anything else: the profile link itself, `per-user/`, lock files, other profiles' links, `system-x-link`,
 * `system--1-link`, numbers with a sign or beyond 32 bits.
 */
export function parseGenerationLinkName(profileBase: string, entry: string): number | null {
  const prefix = `${profileBase}-`;
  const suffix = '-link';
  if (!entry.startsWith(prefix) || !entry.endsWith(suffix)) return null;
  const middle = entry.slice(prefix.length, entry.length - suffix.length);
  if (!/^[0-9]{1,10}$/.test(middle)) return null;
  const n = Number(middle);
  if (!Number.isSafeInteger(n) || n > MAX_GENERATION) return null;
  return n;
}

/** Sorts by generation number, oldest first (numerically: 10 after 9). Returns a new array. */
export function sortByGeneration<T extends { generation: number }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => a.generation - b.generation);
}

export interface LabelInfo {
  /** The NixOS version inside the label ("24.05.20240601.abcdef0"), or null. */
  nixosVersion: string | null;
  /** "24.05", or null. */
  release: string | null;
  /** A git sha (7-40 hex digits, or "dirty") visible in the label as a tag (`git-<sha>`) or a suffix, or null. */
  revision: string | null;
}

const VERSION_START = /^[0-9]{2}\.[0-9]{2}/;
const HEX = /^[0-9a-f]{7,40}$/;

/**
 * Reads a `system.nixos.label` (the generation's `nixos-version` file). The default label is
 * `<sorted tags joined by "-">-<version>`; people who pin the commit use a tag `git-<sha>` or put `-<sha>` after
 * the version. Labels are restricted to `[a-zA-Z0-9:_.-]` by NixOS, but anything is accepted here.
 */
export function parseLabel(label: string | null | undefined): LabelInfo {
  const none: LabelInfo = { nixosVersion: null, release: null, revision: null };
  if (!label) return none;
  const text = label.trim();
  if (text === '' || /\s/.test(text)) return none;
  const parts = text.split('-');
  const at = parts.findIndex((p) => VERSION_START.test(p));
  let nixosVersion: string | null = null;
  let after: string[] = [];
  let before: string[] = parts;
  if (at !== -1) {
    let version = parts[at]!;
    let next = at + 1;
    if (/^[0-9]{2}\.[0-9]{2}[0-9A-Za-z.]*$/.test(version)) {
      // "24.11pre-git" (an unreleased checkout) is one version with a dash in it
      if (/pre$/.test(version) && parts[next] === 'git') {
        version = `${version}-git`;
        next++;
      }
      nixosVersion = version;
    }
    before = parts.slice(0, at);
    after = parts.slice(next);
  }
  let revision: string | null = null;
  // a tag "git-<sha>" (tags come before the version)
  for (let i = 0; i + 1 < before.length; i++) {
    if (before[i] === 'git' && (HEX.test(before[i + 1]!) || before[i + 1] === 'dirty')) {
      revision = before[i + 1]!;
      break;
    }
  }
  // a suffix "<version>-<sha>" (optionally "-dirty")
  if (revision === null && nixosVersion !== null && after.length > 0 && HEX.test(after[0]!)) {
    revision = after[1] === 'dirty' ? `${after[0]}-dirty` : after[0]!;
  }
  if (revision === null && nixosVersion !== null && after.length === 1 && after[0] === 'dirty') revision = 'dirty';
  return { nixosVersion, release: nixosVersion ? nixosVersion.slice(0, 5) : null, revision };
}

export interface BootLabelInfo {
  distro: string | null;
  codename: string | null;
  /** The system label between the codename and "(Linux …)". */
  label: string | null;
  kernelVersion: string | null;
}

/** Reads a bootspec label: "NixOS Uakari 24.05.20240601.abcdef0 (Linux 6.6.32)" (older: no codename). */
export function parseBootLabel(text: string | null | undefined): BootLabelInfo {
  const none: BootLabelInfo = { distro: null, codename: null, label: null, kernelVersion: null };
  if (typeof text !== 'string') return none;
  const m = /^(\S+)\s+(?:(\S+)\s+)?(\S+)\s+\(Linux\s+([^)\s]+)\)\s*$/u.exec(text.trim());
  if (!m) {
    const k = /\(Linux\s+([^)\s]+)\)/.exec(text);
    return { ...none, kernelVersion: k ? k[1]! : null };
  }
  return { distro: m[1]!, codename: m[2] ?? null, label: m[3]!, kernelVersion: m[4]! };
}

export interface BootSpec {
  label: string | null;
  kernel: string | null;
  initrd: string | null;
  init: string | null;
  toplevel: string | null;
  kernelParams: string[];
  system: string | null;
  /** Names of the specialisations embedded in the document ("org.nixos.specialisation.v1"). */
  specialisations: string[];
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads boot.json (RFC 0125 bootspec v1). Null when it is not JSON or has no "org.nixos.bootspec.v1" object. */
export function parseBootJson(text: string): BootSpec | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(doc)) return null;
  const v1 = doc['org.nixos.bootspec.v1'];
  if (!isRecord(v1)) return null;
  const specs = doc['org.nixos.specialisation.v1'];
  const params = v1['kernelParams'];
  return {
    label: str(v1['label']),
    kernel: str(v1['kernel']),
    initrd: str(v1['initrd']),
    init: str(v1['init']),
    toplevel: str(v1['toplevel']),
    system: str(v1['system']),
    kernelParams: Array.isArray(params) ? params.filter((p): p is string => typeof p === 'string') : [],
    specialisations: isRecord(specs) ? Object.keys(specs).sort() : [],
  };
}

/** Reads an os-release file into its key/value pairs (quotes removed). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    let value = line.slice(eq + 1);
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value[value.length - 1] === value[0]) {
      value = value.slice(1, -1).replace(/\\(["\\$`])/g, '$1');
    }
    out[key] = value;
  }
  return out;
}

export interface NixosVersionInfo {
  nixosVersion: string | null;
  nixpkgsRevision: string | null;
  /** null: the generation has no configurationRevision (the key is absent). */
  configurationRevision: string | null;
}

/**
 * Finds the JSON that `nixos-version --json` prints inside the nixos-version script itself (nixpkgs substitutes
 * it into a here-document), so the configuration revision can be known without running anything. Null when the
 * text holds no such object (a compiled nixos-version, a different script).
 */
export function parseNixosVersionScript(text: string): NixosVersionInfo | null {
  // look only at lines holding the key (the script is read for every generation: no full split)
  for (let at = text.indexOf('"nixosVersion"'); at !== -1; at = text.indexOf('"nixosVersion"', at + 1)) {
    const start = text.lastIndexOf('\n', at) + 1;
    const endNl = text.indexOf('\n', at);
    const line = text.slice(start, endNl === -1 ? text.length : endNl).trim();
    if (!line.startsWith('{') || !line.endsWith('}')) continue;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch {
      continue;
    }
    if (!isRecord(doc) || typeof doc['nixosVersion'] !== 'string') continue;
    return {
      nixosVersion: doc['nixosVersion'],
      nixpkgsRevision: str(doc['nixpkgsRevision']),
      configurationRevision: str(doc['configurationRevision']),
    };
  }
  return null;
}

/** home-manager's `hm-version` ("24.05", "25.05-pre", "24.11+a1b2c3d4"): its release and revision. */
export function parseHmVersion(text: string | null | undefined): { release: string | null; revision: string | null } {
  if (!text) return { release: null, revision: null };
  const t = text.trim();
  const m = /^([0-9]{2}\.[0-9]{2})/.exec(t);
  const r = /\+([0-9a-f]{7,40})$/.exec(t);
  return { release: m ? m[1]! : null, revision: r ? r[1]! : null };
}

/** The codename for a release, else the one in a bootspec label. */
export function codenameOf(release: string | null, bootLabel: string | null): string | null {
  return codenameForRelease(release) ?? parseBootLabel(bootLabel).codename;
}

/** ISO 8601 in UTC, to the second (what nix-env shows): 2025-01-27T12:00:00Z. */
export function isoSeconds(epochMs: number): string {
  if (!Number.isFinite(epochMs)) return '1970-01-01T00:00:00Z';
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

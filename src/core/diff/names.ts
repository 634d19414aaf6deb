/**
 * Store names: splitting `<hash>-<name>-<version>` into a package name and a version the way Nix's
 * `parseDrvName` does, with a correct split for NixOS system toplevels, and Nix's version ordering.
 */

/** A store path's base name without the 32-character hash, or null when it does not look like a store path. */
export function storeName(storePath: string): string | null {
  const base = storePath.slice(storePath.lastIndexOf('/') + 1);
  const m = /^[0-9a-df-np-sv-z]{32}-(.+)$/.exec(base);
  return m ? m[1]! : null;
}

export interface PackageName {
  /** Package name ("postgresql", "nixos-system-nixbox"). */
  name: string;
  /** Version ("15.7"), or "" when the store name has none. */
  version: string;
}

const isLetter = (c: string | undefined): boolean => c !== undefined && /^[A-Za-z]$/.test(c);

/**
 * Nix's rule (`DrvName`): the version starts after the first `-` that is followed by something other than a
 * letter. `hello-2.12` -> hello / 2.12, `python3.11-requests-2.31` -> python3.11-requests / 2.31,
 * `firmware` -> firmware / "".
 */
export function parseDrvName(name: string): PackageName {
  for (let i = 0; i + 1 < name.length; i++) {
    if (name[i] === '-' && !isLetter(name[i + 1])) {
      return { name: name.slice(0, i), version: name.slice(i + 1) };
    }
  }
  return { name, version: '' };
}

/** `YY.MM` at the start of a label part: a NixOS release ("24.05", "24.11pre"). */
const RELEASE_PART = /^[0-9]{2}\.[0-9]{2}/;
/** A tag NixOS users add to pin the commit: `git-<sha>` / `git-dirty`. */
const GIT_TAG = /^(?:[0-9a-f]{7,40}|dirty)$/;

const SYSTEM_PREFIX = 'nixos-system-';

/**
 * Splits a store name into package name and version. NixOS system toplevels are named
 * `nixos-system-<hostName>-<label>` and the label (`<tags>-<version>`) is the version. parseDrvName gets these
 * wrong when a tag such as `git-1a2b3c4` precedes the version (the sha would start the version, or not, depending
 * on its first character), so for them the split is made before the label: at `-git-<sha>` tags or the
 * `YY.MM` release. When the exact label is known (the toplevel's `nixos-version` file), pass it.
 */
export function splitStoreName(name: string, knownLabel?: string | null): PackageName {
  if (!name.startsWith(SYSTEM_PREFIX)) return splitOutput(parseDrvName(name));
  if (knownLabel && name.length > SYSTEM_PREFIX.length + knownLabel.length && name.endsWith(`-${knownLabel}`)) {
    return { name: name.slice(0, name.length - knownLabel.length - 1), version: knownLabel };
  }
  const parts = name.slice(SYSTEM_PREFIX.length).split('-');
  // parts[0] is always part of the host name; the label starts at the first git tag or release part.
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!;
    const isTag = part === 'git' && i + 1 < parts.length && GIT_TAG.test(parts[i + 1]!);
    if (isTag || RELEASE_PART.test(part)) {
      return { name: SYSTEM_PREFIX + parts.slice(0, i).join('-'), version: parts.slice(i).join('-') };
    }
  }
  return parseDrvName(name);
}

/** Output names Nix appends to a store name (`glibc-2.39-52-bin`), and NixOS's `linux-6.6.32-modules`. */
const OUTPUT_SUFFIX =
  /^(.*[0-9].*)-(bin|dev|lib|out|man|doc|devdoc|info|debug|static|modules|data|terminfo|py|python|lib32|tools)$/;

/**
 * Moves an output suffix from the version to the name: `linux-6.6.32-modules` is package `linux-modules` 6.6.32,
 * not a second version of `linux`.
 */
function splitOutput(p: PackageName): PackageName {
  const m = OUTPUT_SUFFIX.exec(p.version);
  return m ? { name: `${p.name}-${m[2]!}`, version: m[1]! } : p;
}

/** Splits a version into Nix's components: runs of digits, runs of other characters; `.` and `-` separate. */
export function versionComponents(version: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < version.length) {
    const c = version[i]!;
    if (c === '.' || c === '-') {
      i++;
      continue;
    }
    let j = i + 1;
    const digit = c >= '0' && c <= '9';
    while (j < version.length) {
      const d = version[j]!;
      if (d === '.' || d === '-') break;
      if ((d >= '0' && d <= '9') !== digit) break;
      j++;
    }
    out.push(version.slice(i, j));
    i = j;
  }
  return out;
}

const isNumber = (s: string): boolean => /^[0-9]+$/.test(s);

function componentLess(a: string, b: string): boolean {
  const an = isNumber(a);
  const bn = isNumber(b);
  if (an && bn) {
    // compare as integers without overflow: strip leading zeros, then by length, then lexically
    const x = a.replace(/^0+(?=.)/, '');
    const y = b.replace(/^0+(?=.)/, '');
    return x.length !== y.length ? x.length < y.length : x < y;
  }
  if (a === '' && bn) return true;
  if (a === 'pre' && b !== 'pre') return true;
  if (b === 'pre') return false;
  if (bn) return true; // "2.3a" < "2.3.1"
  if (an) return false;
  return a < b;
}

/** Nix's version order (`builtins.compareVersions`): -1, 0 or 1. */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  const x = versionComponents(a);
  const y = versionComponents(b);
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const p = x[i] ?? '';
    const q = y[i] ?? '';
    if (componentLess(p, q)) return -1;
    if (componentLess(q, p)) return 1;
  }
  return 0;
}

/** The leading number of a version ("15.7" -> 15, "2.3a" -> 2), or null. */
export function majorVersion(version: string): number | null {
  const first = versionComponents(version)[0];
  return first !== undefined && isNumber(first) ? Number(first) : null;
}

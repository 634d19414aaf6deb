/**
 * Which nixpkgs (and home-manager) release a flake is built with, read from flake.lock and, when
 * there is no usable lock, from the input URLs written in flake.nix.
 *
 * Every answer is either exact (a release branch, a tag, a FlakeHub version, a channel URL) or an
 * upper bound (unstable branches and pinned revisions: the release the snapshot's date was heading
 * for). Broken or hostile input yields "unknown", never an exception.
 */
import { releaseUpperBoundForDate } from './releases';

export interface InputRelease {
  /** The flake input name at the root (after following `follows`). */
  input: string;
  /** "YY.MM" */
  release: string;
  /** exact: a release branch or tag; upperBound: unstable or a pinned revision, dated. */
  kind: 'exact' | 'upperBound';
  /** What the release was read from, for messages ("nixos-24.05", "nixos-unstable locked 2024-06-01"). */
  source: string;
}

interface LockNode {
  inputs?: Record<string, string | string[]>;
  locked?: Record<string, unknown>;
  original?: Record<string, unknown>;
}

export interface FlakeLock {
  nodes: Record<string, LockNode>;
  root: string;
}

/** Parses flake.lock text; undefined when it is not a lock file we understand. */
export function parseFlakeLock(text: string): FlakeLock | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(data) || !isRecord(data.nodes)) return undefined;
  const root = typeof data.root === 'string' ? data.root : 'root';
  const nodes: Record<string, LockNode> = {};
  for (const [key, value] of Object.entries(data.nodes)) {
    if (!isRecord(value)) continue;
    const node: LockNode = {};
    if (isRecord(value.inputs)) {
      const inputs: Record<string, string | string[]> = {};
      for (const [name, target] of Object.entries(value.inputs)) {
        if (typeof target === 'string') inputs[name] = target;
        else if (Array.isArray(target) && target.every((t) => typeof t === 'string')) inputs[name] = target as string[];
      }
      node.inputs = inputs;
    }
    if (isRecord(value.locked)) node.locked = value.locked;
    if (isRecord(value.original)) node.original = value.original;
    nodes[key] = node;
  }
  if (!nodes[root]) return undefined;
  return { nodes, root };
}

/** The node key a root input name resolves to, following `follows` paths; undefined when broken or cyclic. */
export function resolveInput(lock: FlakeLock, inputPath: readonly string[], depth = 0): string | undefined {
  if (depth > 32) return undefined;
  let key = lock.root;
  for (const name of inputPath) {
    const target = lock.nodes[key]?.inputs?.[name];
    if (target === undefined) return undefined;
    if (typeof target === 'string') key = target;
    else {
      const resolved = resolveInput(lock, target, depth + 1);
      if (resolved === undefined) return undefined;
      key = resolved;
    }
    if (!lock.nodes[key]) return undefined;
  }
  return key;
}

/** Root input names of the lock. */
export function rootInputs(lock: FlakeLock): string[] {
  return Object.keys(lock.nodes[lock.root]?.inputs ?? {});
}

/** Whether a locked node is a nixpkgs (NixOS/nixpkgs or a fork named nixpkgs, FlakeHub, channel tarball). */
export function isNixpkgsNode(lock: FlakeLock, key: string): boolean {
  const node = lock.nodes[key];
  if (!node) return false;
  const o = node.original ?? {};
  const l = node.locked ?? {};
  const repo = str(o.repo) ?? str(l.repo);
  if (repo && repo.toLowerCase() === 'nixpkgs') return true;
  const url = str(o.url) ?? str(l.url) ?? '';
  if (/flakehub\.com\/f\/(pinned\/)?NixOS\/nixpkgs\//i.test(url)) return true;
  if (/(channels|releases)\.nixos\.org\//.test(url)) return true;
  if (/\/nixpkgs(\.git)?([?/#]|$)/i.test(url)) return true;
  if (str(o.type) === 'indirect' && str(o.id) === 'nixpkgs') return true;
  return false;
}

export function isHomeManagerNode(lock: FlakeLock, key: string): boolean {
  const node = lock.nodes[key];
  if (!node) return false;
  const repo = str(node.original?.repo) ?? str(node.locked?.repo) ?? '';
  const url = str(node.original?.url) ?? str(node.locked?.url) ?? '';
  return repo.toLowerCase() === 'home-manager' || /\/home-manager(\.git)?([?/#]|$)/i.test(url);
}

/** The release of one lock node, or undefined when nothing tells it. */
export function nodeRelease(lock: FlakeLock, key: string, input: string): InputRelease | undefined {
  const node = lock.nodes[key];
  if (!node) return undefined;
  const o = node.original ?? {};
  const l = node.locked ?? {};
  const ref = str(o.ref) ?? refFromUrl(str(o.url));
  const fromRef = ref !== undefined ? releaseFromRef(ref) : undefined;
  if (fromRef) return { input, release: fromRef, kind: 'exact', source: ref! };
  for (const url of [str(o.url), str(l.url)]) {
    const fromUrl = url !== undefined ? releaseFromUrl(url) : undefined;
    if (fromUrl) return { input, release: fromUrl.release, kind: fromUrl.kind, source: fromUrl.source };
  }
  // Unstable branch, default branch, or a pinned revision: bounded by the date of the locked commit.
  const lastModified = l.lastModified;
  if (typeof lastModified === 'number' && Number.isFinite(lastModified) && lastModified > 0) {
    const date = new Date(lastModified * 1000);
    if (!Number.isNaN(date.getTime())) {
      const what = ref ?? (str(o.rev) ? `revision ${str(o.rev)!.slice(0, 12)}` : 'default branch');
      return {
        input,
        release: releaseUpperBoundForDate(date),
        kind: 'upperBound',
        source: `${what} locked at ${date.toISOString().slice(0, 10)}`,
      };
    }
  }
  return undefined;
}

/** nixos-24.05, nixos-24.05-small, nixpkgs-24.05-darwin, release-24.11, 24.05 (tag) -> "24.05". */
export function releaseFromRef(ref: string): string | undefined {
  const clean = ref.replace(/^refs\/(heads|tags)\//, '');
  const m =
    /^(?:nixos|nixpkgs)-(\d\d\.\d\d)(?:-small|-darwin)?$/.exec(clean) ??
    /^release-(\d\d\.\d\d)$/.exec(clean) ??
    /^(\d\d\.\d\d)(?:-beta)?$/.exec(clean);
  return m?.[1];
}

function releaseFromUrl(url: string): { release: string; kind: 'exact' | 'upperBound'; source: string } | undefined {
  // FlakeHub: .../NixOS/nixpkgs/0.2405.*.tar.gz, pinned .../0.2405.635732%2Brev-…; 0.1.* is unstable.
  const fh = /flakehub\.com\/f\/(?:pinned\/)?[^/]+\/[^/]+\/(?:=)?0\.(\d\d)(\d\d)(?:[.*%+]|$)/i.exec(url);
  if (fh) return { release: `${fh[1]}.${fh[2]}`, kind: 'exact', source: `FlakeHub 0.${fh[1]}${fh[2]}` };
  // Channel tarballs: channels.nixos.org/nixos-24.05/…, releases.nixos.org/nixos/24.05/nixos-24.05.1234.abc/…
  const ch = /(?:channels|releases)\.nixos\.org\/(?:nixos\/)?(?:nixos|nixpkgs)-(\d\d\.\d\d)(?:-small|-darwin)?\//.exec(
    url,
  );
  if (ch) return { release: ch[1]!, kind: 'exact', source: `channel nixos-${ch[1]}` };
  const rel = /releases\.nixos\.org\/nixos\/(\d\d\.\d\d)\//.exec(url);
  if (rel) return { release: rel[1]!, kind: 'exact', source: `release ${rel[1]}` };
  // GitHub archive tarballs of a branch: …/archive/nixos-24.05.tar.gz or …/archive/refs/heads/release-24.11.tar.gz
  const arch = /\/archive\/(?:refs\/heads\/)?([^/]+?)\.(?:tar\.gz|zip|tar\.xz)/.exec(url);
  if (arch) {
    const r = releaseFromRef(arch[1]!);
    if (r) return { release: r, kind: 'exact', source: arch[1]! };
  }
  return undefined;
}

/** `ref` given as a query parameter or the third part of github:owner/repo/ref. */
function refFromUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  const q = /[?&]ref=([^&#]+)/.exec(url);
  if (q) {
    try {
      return decodeURIComponent(q[1]!);
    } catch {
      return q[1];
    }
  }
  const gh = /^(?:github|gitlab|sourcehut):[^/]+\/[^/?#]+\/([^?#]+)/.exec(url);
  if (gh && !/^[0-9a-f]{40}$/.test(gh[1]!)) return gh[1];
  return undefined;
}

/**
 * The input URLs of flake.nix as written, read with a tolerant scan of the text (no evaluation):
 * `inputs.nixpkgs.url = "…";`, `nixpkgs.url = "…";` inside `inputs = { … }`, and
 * `nixpkgs = { url = "…"; }`. Used only when flake.lock is absent or unreadable.
 */
export function inputUrlsFromFlakeNix(text: string): Map<string, string> {
  const urls = new Map<string, string>();
  const patterns = [
    /(?:^|[\s;{])(?:inputs\.)?([A-Za-z_][\w'-]*)\.url\s*=\s*"([^"$]*)"/g,
    /(?:^|[\s;{])(?:inputs\.)?([A-Za-z_][\w'-]*)\s*=\s*\{\s*url\s*=\s*"([^"$]*)"/g,
  ];
  for (const re of patterns) {
    for (const m of text.matchAll(re)) {
      if (m[1] === 'inputs') continue;
      if (!urls.has(m[1]!)) urls.set(m[1]!, m[2]!);
    }
  }
  return urls;
}

/** The release named by a flake URL alone (no lock): exact for branches/tags/FlakeHub/channels. */
export function releaseFromFlakeUrl(url: string): string | undefined {
  const ref = refFromUrl(url);
  if (ref) {
    const r = releaseFromRef(ref);
    if (r) return r;
  }
  return releaseFromUrl(url)?.release;
}

export function isNixpkgsUrl(url: string): boolean {
  return (
    /^(github|gitlab):[^/]+\/nixpkgs(\/|\?|$)/i.test(url) ||
    /flakehub\.com\/f\/NixOS\/nixpkgs\//i.test(url) ||
    /(channels|releases)\.nixos\.org\//.test(url) ||
    /\/nixpkgs(\.git)?([?/#]|$)/i.test(url) ||
    url === 'nixpkgs'
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

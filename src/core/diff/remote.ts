/**
 * The running system of another machine, read over ssh so that it can be compared with a system built here: one
 * ssh call runs a small POSIX script on the target that resolves `<runDir>/current-system`, prints the few files
 * and links `readSystemInfo` looks at, and the closure as `nix path-info -r --json` (or `nix-store -qR` and
 * `nix-store -q --size` when the nix command is not usable). The answer is read back into the same shapes the
 * local readers return (`SystemInfo`, `Closure`), through the same code: the files become an in-memory file
 * system for `readSystemInfo`, the JSON goes through `parsePathInfos`/`closureOf`.
 *
 * Also `switch-to-configuration dry-activate` on the target, parsed with the local parser.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import type { FsOps, StatLite } from '../generations/fsutil';
import { StoreMetaCache } from '../generations/store-meta';
import { describeTarget, runOnTarget, validateHost, type Target, type TargetRunOptions } from '../target';
import { closureOf, parsePathInfos, type Closure } from './closure';
import { parseDryActivate, type UnitChanges } from './dryActivate';
import { compareReach, loginUser, parseReach, REACH_COLLECT_SH, type ReachFinding } from './reach';
import { CONFIGURATION_MAX_BYTES, readSystemInfo, type SystemFacts } from './system';
import { storeName } from './names';

/** Files of a toplevel the script sends, with the most bytes sent of each (what `readSystemInfo` reads). */
export const REMOTE_FILES: ReadonlyArray<readonly [string, number]> = [
  ['nixos-version', 4096],
  ['hm-version', 4096],
  ['boot.json', 1024 * 1024],
  ['etc/os-release', 16 * 1024],
  ['configuration.nix', CONFIGURATION_MAX_BYTES],
];

/** Limits of one answer: beyond them the read fails with a clear message instead of using a cut answer. */
export const REMOTE_MAX_OUTPUT_BYTES = 48 * 1024 * 1024;
export const REMOTE_DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Runs on the target as `sh -c SCRIPT nixgen-remote-facts MARK LINK NIX`. Every record is `MARK kind name`, the
 * exact bytes, then a line `MARK end` after a newline; MARK is fresh per call, so no file content can end a record
 * early. Nothing from the arguments is ever evaluated: they are only expanded inside double quotes.
 */
export const REMOTE_FACTS_SCRIPT = `m=$1 link=$2 nix=$3
rec() { printf '%s %s %s\\n' "$m" "$1" "$2"; }
fin() { printf '\\n%s end\\n' "$m"; }
${REACH_COLLECT_SH}fail() { rec error -; printf '%s' "$1"; fin; exit 0; }
t=$(cd -P -- "$link" 2>/dev/null && pwd -P) || fail "$link does not exist on the target or is not a directory"
rec root -; printf '%s' "$t"; fin
reach_etc "$t" ''
for spec in ${REMOTE_FILES.map(([f, n]) => `${f}:${n}`).join(' ')}; do
  f=\${spec%:*} n=\${spec##*:}
  if [ -f "$t/$f" ] && [ -r "$t/$f" ]; then rec file "$f"; head -c "$n" -- "$t/$f"; fin; fi
done
for l in kernel initrd kernel-modules; do
  if [ -L "$t/$l" ]; then rec link "$l"; printf '%s' "$(readlink -- "$t/$l")"; fin; fi
done
for p in home-files activate boot.json kernel-modules specialisation; do
  if [ -e "$t/$p" ] || [ -L "$t/$p" ]; then rec present "$p"; fin; fi
done
for d in specialisation kernel-modules/lib/modules; do
  if [ -d "$t/$d" ]; then rec dir "$d"; ls -A -- "$t/$d" | head -n 1000; fin; fi
done
case $nix in */*) store=\${nix%/*}/nix-store ;; *) store=nix-store ;; esac
if command -v "$nix" >/dev/null 2>&1 &&
  info=$("$nix" --extra-experimental-features nix-command path-info -r --json -- "$t" 2>/dev/null); then
  rec pathinfo -; printf '%s' "$info"; fin; exit 0
fi
command -v "$store" >/dev/null 2>&1 ||
  fail "nix is not installed on the target: neither $nix nor $store is on its PATH ($PATH)"
list=$("$store" -qR -- "$t" 2>&1) || fail "nix-store -qR $t failed: $list"
rec paths -; printf '%s' "$list"; fin
rec sizes -; printf '%s\\n' "$list" | xargs "$store" -q --size -- 2>/dev/null; fin
`;

export interface RemoteRecord {
  kind: string;
  name: string;
  body: string;
}

/** Splits the script's answer into records. Text outside records (a login banner) is ignored. */
export function parseRemoteRecords(text: string, mark: string): RemoteRecord[] {
  const records: RemoteRecord[] = [];
  const head = `${mark} `;
  const end = `\n${mark} end\n`;
  let i = 0; // always at the start of a line
  for (;;) {
    let start = i;
    if (!text.startsWith(head, i)) {
      const k = text.indexOf(`\n${head}`, i);
      if (k < 0) break;
      start = k + 1;
    }
    const lineEnd = text.indexOf('\n', start);
    if (lineEnd < 0) break;
    const [kind = '', ...rest] = text.slice(start + head.length, lineEnd).split(' ');
    // the body ends at the first end line; an empty body's end line follows the header at once
    const close = text.indexOf(end, lineEnd);
    if (close < 0) break; // cut short: the record is incomplete
    records.push({ kind, name: rest.join(' '), body: text.slice(lineEnd + 1, Math.max(lineEnd + 1, close)) });
    i = close + end.length;
  }
  return records;
}

const ENOENT = (p: string): Error =>
  Object.assign(new Error(`ENOENT: no such file or directory, '${p}'`), { code: 'ENOENT' });

function fakeStat(ino: number, symlink: boolean): StatLite {
  return { mtimeMs: 0, ctimeMs: 0, ino, size: 0, isSymbolicLink: () => symlink };
}

/**
 * A read-only file system holding only what the script sent about `root`: the reads `readSystemInfo` makes
 * answer from it as they would on the target. Paths under the `kernel-modules` link's target map to
 * `kernel-modules/...`.
 */
export function snapshotFs(root: string, records: readonly RemoteRecord[]): FsOps {
  const files = new Map<string, string>();
  const links = new Map<string, string>();
  const dirs = new Map<string, string[]>();
  const present = new Set<string>();
  for (const r of records) {
    if (r.kind === 'file') files.set(r.name, r.body);
    else if (r.kind === 'link') links.set(r.name, r.body);
    else if (r.kind === 'dir')
      dirs.set(
        r.name,
        r.body.split('\n').filter((e) => e !== ''),
      );
    else if (r.kind === 'present') present.add(r.name);
  }
  const modules = links.get('kernel-modules');
  const modulesTarget = modules === undefined ? null : path.resolve(root, modules);
  const relative = (p: string): string | null => {
    if (p === root) return '';
    if (p.startsWith(`${root}/`)) return p.slice(root.length + 1);
    if (modulesTarget !== null && p.startsWith(`${modulesTarget}/`)) {
      return `kernel-modules/${p.slice(modulesTarget.length + 1)}`;
    }
    return null;
  };
  const stat = (p: string): StatLite | null => {
    const rel = relative(p);
    if (rel === '') return fakeStat(1, false);
    if (rel === null) return null;
    if (links.has(rel)) return fakeStat(2, true);
    if (present.has(rel) || files.has(rel) || dirs.has(rel)) return fakeStat(3, false);
    return null;
  };
  return {
    lstat: async (p) => {
      const s = stat(p);
      if (s === null) throw ENOENT(p);
      return s;
    },
    lstatIfExists: async (p) => stat(p),
    readlink: async (p) => {
      const rel = relative(p);
      const target = rel === null ? undefined : links.get(rel);
      if (target === undefined) throw ENOENT(p);
      return target;
    },
    readdir: async (p) => {
      const rel = relative(p);
      const entries = rel === null ? undefined : dirs.get(rel);
      if (entries === undefined) throw ENOENT(p);
      return [...entries];
    },
    readSmall: async (p, max) => {
      const rel = relative(p);
      const text = rel === null ? undefined : files.get(rel);
      if (text === undefined) return null;
      const bytes = Buffer.from(text, 'utf8');
      return bytes.length <= max ? text : bytes.toString('utf8', 0, max);
    },
  };
}

export interface RemoteReadOptions {
  /** Where `current-system` lives on the target (default /run). Ignored when `systemPath` is given. */
  runDir?: string;
  /** Read this path on the target instead of `<runDir>/current-system` (a store path or a link to one). */
  systemPath?: string;
  /** The nix executable on the target (default "nix", found on its PATH; nix-store is looked up next to it). */
  nix?: string;
  /** Environment for the script on the target (passed explicitly with `env NAME=value`). */
  env?: Readonly<Record<string, string>>;
  /** Environment of the local ssh process (default process.env): what ssh's SendEnv sends comes from here. */
  localEnv?: NodeJS.ProcessEnv;
  /** Whole call, connection included (default 60 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Cap on the answer (default 48 MiB); a bigger answer is an error, never a cut closure. */
  maxOutputBytes?: number;
  /** A fixed record mark (tests); default a fresh random one. */
  mark?: string;
}

/** The argv that runs on the target (before ssh quoting): `sh -c SCRIPT nixgen-remote-facts MARK LINK NIX`. */
export function remoteFactsArgv(link: string, nix: string, mark: string): string[] {
  if (!/^[A-Za-z0-9-]{8,64}$/.test(mark)) throw new Error(`invalid record mark: ${JSON.stringify(mark)}`);
  if (link === '' || nix === '') throw new Error('the system path and the nix executable cannot be empty');
  return ['sh', '-c', REMOTE_FACTS_SCRIPT, 'nixgen-remote-facts', mark, link, nix];
}

function lastLines(text: string, n = 3): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

/** Why a call over ssh did not give an answer, or null when it ran (whatever the remote command's exit code). */
function transportProblem(
  where: string,
  r: { exitCode: number | null; timedOut: boolean; truncated: boolean; stderr: string },
  timeoutMs: number,
  maxBytes: number,
): string | null {
  if (r.timedOut) return `${where} did not answer within ${Math.round(timeoutMs / 1000)} s`;
  if (r.truncated) return `the answer of ${where} is larger than ${Math.round(maxBytes / 1024 / 1024)} MiB`;
  if (r.exitCode === 255) return `cannot reach ${where} over ssh: ${lastLines(r.stderr) || 'ssh exited with 255'}`;
  return null;
}

/**
 * Reads the system running on `target` (its `<runDir>/current-system`): what `readSystemInfo` says about it and its
 * closure, in one ssh call. Rejects with a clear message when the target cannot be reached, does not answer in
 * time, has no nix, or has no such system; never hangs past `timeoutMs`.
 */
export async function readRemoteSystem(target: Target, options: RemoteReadOptions = {}): Promise<SystemFacts> {
  if (target.kind !== 'ssh') throw new Error('readRemoteSystem needs an ssh target');
  const problem = validateHost(target.host);
  if (problem) throw new Error(problem);
  const where = describeTarget(target);
  const link = options.systemPath ?? path.posix.join(options.runDir ?? '/run', 'current-system');
  const mark = options.mark ?? `nixgen-${randomBytes(12).toString('hex')}`;
  const timeoutMs = options.timeoutMs ?? REMOTE_DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxOutputBytes ?? REMOTE_MAX_OUTPUT_BYTES;
  const run: TargetRunOptions = { timeoutMs, maxOutputBytes: maxBytes };
  if (options.env) run.env = options.env;
  if (options.localEnv) run.localEnv = options.localEnv;
  if (options.signal) run.signal = options.signal;
  const r = await runOnTarget(target, remoteFactsArgv(link, options.nix ?? 'nix', mark), run);
  const transport = transportProblem(where, r, timeoutMs, maxBytes);
  if (transport) throw new Error(transport);
  const records = parseRemoteRecords(r.stdout, mark);
  const error = records.find((x) => x.kind === 'error');
  if (error) throw new Error(`on ${where}: ${lastLines(error.body, 5)}`);
  const root = records.find((x) => x.kind === 'root')?.body;
  if (root === undefined) {
    const why = lastLines(r.stderr) || `exit ${r.exitCode ?? r.signal}`;
    throw new Error(`unexpected answer from ${where} (is it a POSIX system with sh?): ${why}`);
  }
  if (storeName(root) === null) throw new Error(`on ${where}: ${link} resolves to ${root}, which is not a store path`);
  const closure = closureFromRecords(root, records);
  if (!closure) throw new Error(`on ${where}: the closure of ${root} could not be read: ${lastLines(r.stderr)}`);
  const info = await readSystemInfo(root, null, new StoreMetaCache(), snapshotFs(root, records));
  return { info: { ...info, host: target.host }, closure, reach: reachFilesOf(records, '') };
}

/** The `reach` records whose name starts with `prefix`, by the rest of their name (core/diff/reach's files). */
export function reachFilesOf(records: readonly RemoteRecord[], prefix: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const r of records) {
    if (r.kind === 'reach' && r.name.startsWith(prefix)) files.set(r.name.slice(prefix.length), r.body);
  }
  return files;
}

/**
 * Runs on the target as `sh -c SCRIPT nixgen-remote-reach MARK TOPLEVEL...`: the reach files of each toplevel,
 * named `<index>:<path>`, and `missing <index>` for a toplevel that is not a directory there.
 */
export const REMOTE_REACH_SCRIPT = `m=$1; shift
rec() { printf '%s %s %s\\n' "$m" "$1" "$2"; }
fin() { printf '\\n%s end\\n' "$m"; }
${REACH_COLLECT_SH}i=0
for t in "$@"; do
  if [ -d "$t" ]; then reach_etc "$t" "$i:"; else rec missing "$i"; fin; fi
  i=$((i + 1))
done
rec done -; fin
`;

/**
 * Reads the reach files (core/diff/reach) of toplevels on the target, in one ssh call: for each path, its files,
 * or null when the path is not there. Rejects with a clear message when the target does not answer.
 */
export async function readRemoteReach(
  target: Target,
  toplevels: readonly string[],
  options: Pick<RemoteReadOptions, 'localEnv' | 'timeoutMs' | 'signal' | 'mark'> = {},
): Promise<Array<Map<string, string> | null>> {
  const where = describeTarget(target);
  const mark = options.mark ?? `nixgen-${randomBytes(12).toString('hex')}`;
  for (const t of toplevels) {
    if (!t.startsWith('/')) throw new Error(`not an absolute store path: ${JSON.stringify(t)}`);
  }
  const timeoutMs = options.timeoutMs ?? REMOTE_DEFAULT_TIMEOUT_MS;
  const maxBytes = 16 * 1024 * 1024;
  const run: TargetRunOptions = { timeoutMs, maxOutputBytes: maxBytes };
  if (options.localEnv) run.localEnv = options.localEnv;
  if (options.signal) run.signal = options.signal;
  const r = await runOnTarget(
    target,
    ['sh', '-c', REMOTE_REACH_SCRIPT, 'nixgen-remote-reach', mark, ...toplevels],
    run,
  );
  const transport = transportProblem(where, r, timeoutMs, maxBytes);
  if (transport) throw new Error(transport);
  const records = parseRemoteRecords(r.stdout, mark);
  if (!records.some((x) => x.kind === 'done')) {
    throw new Error(`unexpected answer from ${where} (is it a POSIX system with sh?): ${lastLines(r.stderr)}`);
  }
  return toplevels.map((_, i) =>
    records.some((x) => x.kind === 'missing' && x.name === String(i)) ? null : reachFilesOf(records, `${i}:`),
  );
}

/**
 * Changes that cut you off for a switch on the target: the reach files of the system it runs (`RUNDIR/current-system`)
 * and of `toplevel`, read in one ssh call and compared for the ssh login user. `findings` is null when the
 * comparison could not be made, and `problem` then says why (never throws: the caller decides what an unknown means).
 * The command line's `switch` and the explorer's remote switch both decide on this.
 */
export async function readSwitchReach(
  target: Target,
  toplevel: string,
  options: Pick<RemoteReadOptions, 'localEnv' | 'timeoutMs' | 'signal'> & { runDir?: string } = {},
): Promise<{ findings: ReachFinding[] | null; problem: string | null }> {
  if (target.kind !== 'ssh') return { findings: null, problem: 'not a remote target' };
  const { runDir = '/run', ...read } = options;
  try {
    const [before, after] = await readRemoteReach(target, [`${runDir}/current-system`, toplevel], read);
    if (!before) return { findings: null, problem: `${runDir}/current-system is not on ${describeTarget(target)}` };
    if (!after) return { findings: null, problem: `${toplevel} is not on ${describeTarget(target)}` };
    return {
      findings: compareReach(parseReach(before), parseReach(after), { user: loginUser(target.host) }),
      problem: null,
    };
  } catch (error) {
    return { findings: null, problem: error instanceof Error ? error.message : String(error) };
  }
}

function closureFromRecords(root: string, records: readonly RemoteRecord[]): Closure | null {
  const json = records.find((x) => x.kind === 'pathinfo');
  if (json) {
    const infos = parsePathInfos(json.body);
    return infos.has(root) ? closureOf(root, infos) : null;
  }
  const list = records.find((x) => x.kind === 'paths');
  if (!list) return null;
  const names = list.body.split('\n').filter((l) => l !== '');
  if (!names.includes(root)) return null;
  const numbers = (records.find((x) => x.kind === 'sizes')?.body ?? '').split('\n').filter((l) => l !== '');
  const paths = new Map<string, number>();
  // sizes only when there is one per path (else 0: unknown, as the local fallback does)
  names.forEach((p, i) => paths.set(p, numbers.length === names.length ? Number(numbers[i]) || 0 : 0));
  let size = 0;
  for (const s of paths.values()) size += s;
  return { root, paths, size };
}

export interface RemoteDryActivateOptions {
  /** Elevation on the target (`remoteElevation`): [] as root@, else `sudo -n --` and the like. */
  elevate?: readonly string[];
  env?: Readonly<Record<string, string>>;
  localEnv?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The argv that runs on the target for a dry activation (before elevation and ssh quoting). */
export function dryActivateArgv(toplevel: string): string[] {
  if (!toplevel.startsWith('/')) throw new Error(`not an absolute store path: ${JSON.stringify(toplevel)}`);
  return [path.posix.join(toplevel, 'bin', 'switch-to-configuration'), 'dry-activate'];
}

/**
 * Runs `<toplevel>/bin/switch-to-configuration dry-activate` on the target (the closure must be there already)
 * and parses what it prints with the local parser. Never rejects: problems come back as `error`.
 */
export async function remoteDryActivate(
  target: Target,
  toplevel: string,
  options: RemoteDryActivateOptions = {},
): Promise<{ units: UnitChanges | null; error: string | null }> {
  const where = describeTarget(target);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const maxBytes = 4 * 1024 * 1024;
  try {
    const run: TargetRunOptions = { timeoutMs, maxOutputBytes: maxBytes, elevate: options.elevate ?? [] };
    if (options.env) run.env = options.env;
    if (options.localEnv) run.localEnv = options.localEnv;
    if (options.signal) run.signal = options.signal;
    const r = await runOnTarget(target, dryActivateArgv(toplevel), run);
    const transport = transportProblem(where, r, timeoutMs, maxBytes);
    if (transport) return { units: null, error: `dry-activate: ${transport}` };
    if (r.exitCode !== 0) {
      const detail = lastLines(r.stderr.trim() || r.stdout.trim());
      return {
        units: null,
        error: `dry-activate on ${where} exited with ${r.exitCode ?? r.signal}${detail ? `: ${detail}` : ''}`,
      };
    }
    return { units: parseDryActivate(`${r.stderr}\n${r.stdout}`), error: null };
  } catch (error) {
    return { units: null, error: error instanceof Error ? error.message : String(error) };
  }
}

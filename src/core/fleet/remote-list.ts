/**
 * A remote machine's system generations, read over one ssh connection: a POSIX sh script on the target reports the
 * profile's links, the run links, and the few files of each system that the local reader looks at (and, when asked,
 * the closure sizes from one `nix path-info` call); the answer becomes a `PathSnapshot`, read by the same
 * `readProfile` / `rebootNeeded` / `loadConfigurationRevisions` as a local listing. So a remote generation has the
 * same fields, computed by the same code, as a local one. The same call reports who the machine says it is (host
 * name, machine-id), for drift and the identity guard.
 *
 * The answer is bounded (bytes and time); a machine that cannot be reached gives a `problem` saying why, never an
 * exception.
 */
import { randomBytes } from 'node:crypto';
import { parseRemoteRecords } from '../diff/remote';
import { loadConfigurationRevisions, readProfile, rebootNeeded, StoreMetaCache } from '../generations';
import { parsePathInfoJson } from '../generations/lazy';
import { profileRefFor } from '../generations/profiles';
import type { ProfileListing, RebootStatus } from '../generations/types';
import { runOnTarget, type Target, type TargetRunOptions } from '../target';
import { PathSnapshot } from './snapshot';

export const REMOTE_LIST_MAX_BYTES = 32 * 1024 * 1024;
export const REMOTE_LIST_DEFAULT_TIMEOUT_MS = 20_000;
export const SYSTEM_PROFILE = '/nix/var/nix/profiles/system';

/**
 * Runs as `sh -c SCRIPT nixgen-remote-list MARK PROFILE RUNDIR SIZES`. Records: `MARK kind path`, the bytes, then
 * `\nMARK end`. Arguments are only ever expanded inside double quotes, never evaluated.
 */
export const REMOTE_LIST_SCRIPT = `m=$1 profile=$2 rundir=$3 sizes=$4
rec() { printf '%s %s %s\\n' "$m" "$1" "$2"; }
fin() { printf '\\n%s end\\n' "$m"; }
st() {
  if [ -L "$1" ]; then ty=l; elif [ -d "$1" ]; then ty=d; elif [ -e "$1" ]; then ty=f; else return 1; fi
  rec stat "$1"; printf '%s %s' "$ty" "$(stat -c '%Y %i %s' -- "$1" 2>/dev/null)"; fin
}
lnk() { [ -L "$1" ] || return 1; st "$1"; rec link "$1"; printf '%s' "$(readlink -- "$1")"; fin; }
fil() { [ -f "$1" ] && [ -r "$1" ] || return 1; rec file "$1"; head -c "$2" -- "$1"; fin; }
dir() { [ -d "$1" ] || return 1; st "$1"; rec dir "$1"; ls -A -- "$1" 2>/dev/null | head -n 100000; fin; }
abs() { case $2 in /*) printf '%s' "$2" ;; *) printf '%s/%s' "\${1%/*}" "$2" ;; esac; }
rec hostname -; if [ -r /etc/hostname ]; then head -c 256 /etc/hostname; else hostname 2>/dev/null; fi; fin
rec machine-id -; head -c 64 /etc/machine-id 2>/dev/null; fin
pdir=\${profile%/*} base=\${profile##*/}
[ -n "$pdir" ] || pdir=/
dir "$pdir" || { rec error -; printf '%s' "profile directory $pdir does not exist on the target"; fin; exit 0; }
lnk "$profile"
targets=
for l in "$rundir/current-system" "$rundir/booted-system"; do
  if lnk "$l"; then targets="$targets$(abs "$l" "$(readlink -- "$l")")
"; fi
done
links=$(ls -A -- "$pdir" 2>/dev/null | while IFS= read -r e; do
  case $e in "$base"-*-link) printf '%s\\n' "$pdir/$e" ;; esac
done)
nl='
'
set -f
IFS=$nl
for l in $links; do
  if lnk "$l"; then targets="$targets$(abs "$l" "$(readlink -- "$l")")$nl"; fi
done
present=
for t in $(printf '%s' "$targets" | sort -u); do
  st "$t" || continue
  present="$present$t$nl"
  fil "$t/nixos-version" 4096
  fil "$t/hm-version" 4096
  for x in home-files activate boot.json; do [ -e "$t/$x" ] && st "$t/$x"; done
  fil "$t/boot.json" 1048576
  fil "$t/etc/os-release" 16384
  fil "$t/sw/bin/nixos-version" 262144
  for x in kernel initrd; do lnk "$t/$x"; done
  if lnk "$t/kernel-modules"; then dir "$(abs "$t/kernel-modules" "$(readlink -- "$t/kernel-modules")")/lib/modules"; fi
  dir "$t/specialisation"
done
unset IFS
if [ "$sizes" = yes ] && [ -n "$present" ]; then
  info=$(printf '%s' "$present" | xargs nix --extra-experimental-features nix-command path-info -S --json -- 2>/dev/null)
  rec sizes -; printf '%s' "$info"; fin
fi
rec done -; fin
`;

export interface RemoteFacts {
  /** What /etc/hostname (or `hostname`) says on the machine. */
  hostname: string | null;
  machineId: string | null;
  /** Store path of <runDir>/current-system, booted-system. */
  activated: string | null;
  booted: string | null;
}

export type UnreachableKind = 'timeout' | 'refused' | 'no-route' | 'unknown-host' | 'auth' | 'host-key' | 'error';

export interface RemoteListing {
  host: string;
  listing: ProfileListing | null;
  reboot: RebootStatus | null;
  facts: RemoteFacts | null;
  /** Why the machine could not be read (then listing is null, or holds what was read before the failure). */
  problem: { kind: UnreachableKind; message: string } | null;
  /** When the answer arrived (epoch ms), or when we gave up. */
  at: number;
  elapsedMs: number;
}

export interface RemoteListOptions {
  profile?: string;
  runDir?: string;
  closureSize?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
  localEnv?: NodeJS.ProcessEnv;
  cache?: StoreMetaCache;
}

/** Why ssh failed, from its exit and stderr (ssh's own messages; exit 255 is ssh's, anything else the script's). */
export function classifySshFailure(
  stderr: string,
  timedOut: boolean,
  timeoutMs: number,
): { kind: UnreachableKind; message: string } {
  const last = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(-1)[0];
  if (timedOut) return { kind: 'timeout', message: `no answer within ${Math.round(timeoutMs / 1000)} s` };
  const text = stderr.toLowerCase();
  const detail = last ? `: ${last}` : '';
  if (/connection timed out|operation timed out/.test(text))
    return { kind: 'timeout', message: `connection timed out${detail}` };
  if (/connection refused/.test(text))
    return { kind: 'refused', message: `connection refused (is sshd running?)${detail}` };
  if (/no route to host|network is unreachable/.test(text))
    return { kind: 'no-route', message: `no route to host${detail}` };
  if (/could not resolve hostname|name or service not known/.test(text))
    return { kind: 'unknown-host', message: `unknown host name${detail}` };
  if (/host key verification failed|remote host identification has changed/.test(text)) {
    return { kind: 'host-key', message: `host key not trusted${detail}` };
  }
  if (/permission denied/.test(text)) return { kind: 'auth', message: `login refused (key or user)${detail}` };
  return { kind: 'error', message: `ssh failed${detail || ''}` };
}

/** Reads the system profile (or `profile`) of the machine behind `target`. Never rejects. */
export async function readRemoteGenerations(target: Target, options: RemoteListOptions = {}): Promise<RemoteListing> {
  const started = Date.now();
  const host = target.kind === 'ssh' ? target.host : 'localhost';
  const profile = options.profile ?? SYSTEM_PROFILE;
  const runDir = options.runDir ?? '/run';
  const timeoutMs = options.timeoutMs ?? REMOTE_LIST_DEFAULT_TIMEOUT_MS;
  const done = (partial: Partial<RemoteListing>): RemoteListing => ({
    host,
    listing: null,
    reboot: null,
    facts: null,
    problem: null,
    at: Date.now(),
    elapsedMs: Date.now() - started,
    ...partial,
  });
  const mark = `nixgen-${randomBytes(8).toString('hex')}`;
  const runOptions: TargetRunOptions = {
    timeoutMs,
    maxOutputBytes: REMOTE_LIST_MAX_BYTES,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.localEnv ? { localEnv: options.localEnv } : {}),
  };
  let result;
  try {
    result = await runOnTarget(
      target,
      ['sh', '-c', REMOTE_LIST_SCRIPT, 'nixgen-remote-list', mark, profile, runDir, options.closureSize ? 'yes' : 'no'],
      runOptions,
    );
  } catch (error) {
    return done({ problem: { kind: 'error', message: error instanceof Error ? error.message : String(error) } });
  }
  if (result.truncated) {
    return done({ problem: { kind: 'error', message: `the answer is larger than ${REMOTE_LIST_MAX_BYTES} bytes` } });
  }
  const records = parseRemoteRecords(result.stdout, mark);
  if (result.timedOut || !records.some((r) => r.kind === 'done')) {
    const error = records.find((r) => r.kind === 'error');
    if (error && !result.timedOut) return done({ problem: { kind: 'error', message: error.body } });
    return done({ problem: classifySshFailure(result.stderr, result.timedOut, timeoutMs) });
  }
  const one = (kind: string): string | null => {
    const body = records.find((r) => r.kind === kind)?.body.trim();
    return body ? body : null;
  };
  const snapshot = new PathSnapshot(records);
  const cache = options.cache ?? new StoreMetaCache();
  const listing = await readProfile(profileRefFor(profile), { runDir, cache, fs: snapshot });
  await loadConfigurationRevisions(listing.generations, { cache, fs: snapshot });
  const sizesText = records.find((r) => r.kind === 'sizes')?.body;
  if (sizesText) {
    const sizes = parsePathInfoJson(sizesText);
    for (const g of listing.generations) g.closureSize = sizes.get(g.storePath) ?? g.closureSize;
  }
  const reboot = await rebootNeeded(runDir, snapshot);
  return done({
    listing,
    reboot,
    facts: {
      hostname: one('hostname')?.split('\n')[0]?.trim() ?? null,
      machineId: one('machine-id'),
      activated: reboot.activated,
      booted: reboot.booted,
    },
  });
}

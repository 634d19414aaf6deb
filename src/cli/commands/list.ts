import { optionValue, parseArgs } from '../args';
import type { CliIO } from '../io';
import {
  StoreMetaCache,
  applyClosureSizes,
  defaultProfiles,
  listingsToJson,
  loadClosureSizes,
  loadConfigurationRevisions,
  loadStoreCacheSync,
  profileRefFor,
  readProfiles,
  rebootNeeded,
  saveStoreCacheSync,
  type Generation,
  type ProfileListing,
  type RebootStatus,
} from '../../core/generations';
import { describeReboot } from '../../core/format';

/**
 * `nixos-generations list [--profile P]... [--run-dir D] [--json] [--closure-size] [--no-cache]`: the generations
 * of the profiles (default: the system profile and the user's and home-manager's that exist), newest first.
 * What is read from store paths is kept in the user's cache directory (store-cache-file.ts); `--no-cache`
 * neither reads nor writes it.
 * Exit 1 when a profile cannot be read (the others are still listed), 0 otherwise.
 */
export async function run(args: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(args, {
    profile: { value: true, repeat: true },
    'run-dir': { value: true },
    json: {},
    'closure-size': {},
    'no-cache': {},
  });
  if (parsed.positionals.length > 0) {
    io.err(`nixos-generations list: unexpected argument '${parsed.positionals[0]}'\n`);
    return 2;
  }
  const runDir = optionValue(parsed, 'run-dir') ?? '/run';
  const given = parsed.values.get('profile') ?? [];
  const refs = given.length > 0 ? given.map((p) => profileRefFor(p)) : await defaultProfiles(io.env);
  const cache = new StoreMetaCache();
  // what earlier runs learned of each store path (store paths never change; existence is checked every time)
  const persisted = parsed.flags.has('no-cache') ? null : loadStoreCacheSync(cache, io.env);
  // a batch run: blocking reads are several times cheaper per call than the thread pool
  const listings = await readProfiles(refs, { runDir, cache, blocking: true });
  const all = listings.flatMap((l) => l.generations);
  await loadConfigurationRevisions(all, { cache, env: io.env, blocking: true });
  if (parsed.flags.has('closure-size')) {
    const result = await loadClosureSizes(
      all.filter((g) => !g.missing).map((g) => g.storePath),
      { cache, env: io.env },
    );
    applyClosureSizes(all, result.sizes);
    for (const e of result.errors) io.err(`nixos-generations list: closure sizes: ${e}\n`);
  }

  let status = 0;
  for (const l of listings) {
    if (!l.problem) continue;
    io.err(`nixos-generations list: ${l.problem.message}\n`);
    status = 1;
  }
  if (refs.length === 0) {
    io.err('nixos-generations list: no profile found (give one with --profile)\n');
    status = 1;
  }

  if (parsed.flags.has('json')) {
    io.out(`${JSON.stringify(listingsToJson(listings), null, 2)}\n`);
  } else {
    const hasSystem = listings.some((l) => l.profile.kind === 'system' && l.generations.length > 0);
    const reboot = hasSystem ? await rebootNeeded(runDir) : null;
    io.out(formatListings(listings, reboot, parsed.flags.has('closure-size')));
  }
  saveStoreCacheSync(persisted); // only when something was learned
  return status;
}

/** Local time as nix-env prints it (honours TZ): 2025-01-27 12:00:00. */
function localDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function humanSize(bytes: number | null): string {
  if (bytes === null) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

function stateOf(g: Generation, system: boolean): string {
  const marks: string[] = [];
  if (g.current) marks.push(system ? 'boot default' : 'current');
  if (g.activated) marks.push('activated');
  if (g.booted) marks.push('booted');
  if (g.missing) marks.push('missing (garbage-collected)');
  return marks.join(', ');
}

/** Control characters from hostile file contents never reach the terminal. */
function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

function versionText(g: Generation): string {
  const version = g.kind === 'home-manager' ? g.homeManagerVersion : g.nixosVersion;
  if (!version) return g.missing ? '' : '-';
  return g.codename ? `${version} (${g.codename})` : version;
}

/** The text table: one block per profile, newest first, with a legend of the states. */
export function formatListings(
  listings: readonly ProfileListing[],
  reboot: RebootStatus | null,
  withSize = false,
): string {
  const out: string[] = [];
  for (const listing of listings) {
    out.push(clean(`${listing.profile.name}: ${listing.profile.path}`));
    if (listing.problem && listing.generations.length === 0) {
      out.push(clean(`  (${listing.problem.message})`), '');
      continue;
    }
    const isHm = listing.profile.kind === 'home-manager';
    const nixos = listing.generations.some((g) => g.kind === 'nixos');
    const versions = nixos || listing.generations.some((g) => g.kind === 'home-manager');
    const header = ['', 'GEN', 'DATE'];
    if (versions) header.push(isHm ? 'HOME-MANAGER' : 'NIXOS VERSION');
    if (nixos) header.push('KERNEL', 'REVISION');
    const customLabel = (g: Generation): string =>
      g.kind === 'nixos' && g.label !== null && g.label !== g.nixosVersion ? g.label : '';
    const labels = listing.generations.some((g) => customLabel(g) !== '');
    if (labels) header.push('LABEL');
    header.push('SPECIALISATIONS');
    if (withSize) header.push('CLOSURE');
    header.push('STATE');
    const rows: string[][] = [header];
    for (const g of [...listing.generations].sort((a, b) => b.generation - a.generation)) {
      const row = [
        g.activated ? '>' : g.current ? '*' : g.missing ? '!' : ' ',
        String(g.generation),
        localDate(g.date),
      ];
      if (versions) row.push(clean(versionText(g)));
      if (nixos) {
        row.push(clean(g.kernelVersion ?? (g.missing ? '' : '-')));
        row.push(clean(g.configurationRevision ? g.configurationRevision.slice(0, 12) : ''));
      }
      if (labels) row.push(clean(customLabel(g)));
      row.push(clean(g.specialisations.join(',')));
      if (withSize) row.push(humanSize(g.closureSize));
      row.push(stateOf(g, listing.profile.kind === 'system'));
      rows.push(row);
    }
    const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) {
      out.push(
        r
          .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd(),
      );
    }
    if (listing.profile.kind === 'system' && reboot?.needed) {
      out.push(`  reboot needed: ${describeReboot(reboot)}`);
    }
    out.push('');
  }
  if (out.length > 0) {
    out.push(
      '  * current (the profile link; for the system profile the boot default)   > activated   ! garbage-collected',
    );
  }
  return `${out.join('\n')}\n`;
}

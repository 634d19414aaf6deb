/**
 * The NixOS release table and version arithmetic for stateVersion values.
 *
 * Facts (release numbers, approximate dates, home-manager's accepted values) come from the project's
 * knowledge base; dates before 23.05 are approximate to the day, which is fine for the one use they
 * have here: mapping the date of an unstable nixpkgs snapshot to the release it was heading for.
 */

export interface NixosRelease {
  version: string;
  codename: string;
  /** ISO date of the release (approximate for older releases; the planned month for the upcoming one). */
  date: string;
}

export const NIXOS_RELEASES: readonly NixosRelease[] = [
  { version: '13.10', codename: 'Aardvark', date: '2013-10-31' },
  { version: '14.04', codename: 'Baboon', date: '2014-04-30' },
  { version: '14.12', codename: 'Caterpillar', date: '2014-12-30' },
  { version: '15.09', codename: 'Dingo', date: '2015-09-30' },
  { version: '16.03', codename: 'Emu', date: '2016-03-31' },
  { version: '16.09', codename: 'Flounder', date: '2016-09-30' },
  { version: '17.03', codename: 'Gorilla', date: '2017-03-31' },
  { version: '17.09', codename: 'Hummingbird', date: '2017-09-29' },
  { version: '18.03', codename: 'Impala', date: '2018-04-04' },
  { version: '18.09', codename: 'Jellyfish', date: '2018-10-05' },
  { version: '19.03', codename: 'Koi', date: '2019-04-11' },
  { version: '19.09', codename: 'Loris', date: '2019-10-09' },
  { version: '20.03', codename: 'Markhor', date: '2020-04-20' },
  { version: '20.09', codename: 'Nightingale', date: '2020-10-27' },
  { version: '21.05', codename: 'Okapi', date: '2021-05-31' },
  { version: '21.11', codename: 'Porcupine', date: '2021-11-30' },
  { version: '22.05', codename: 'Quokka', date: '2022-05-30' },
  { version: '22.11', codename: 'Raccoon', date: '2022-11-30' },
  { version: '23.05', codename: 'Stoat', date: '2023-05-31' },
  { version: '23.11', codename: 'Tapir', date: '2023-11-29' },
  { version: '24.05', codename: 'Uakari', date: '2024-05-31' },
  { version: '24.11', codename: 'Vicuña', date: '2024-11-30' },
  { version: '25.05', codename: 'Warbler', date: '2025-05-23' },
  { version: '25.11', codename: 'Xantusia', date: '2025-11-30' },
  { version: '26.05', codename: 'Yarara', date: '2026-05-31' },
  { version: '26.11', codename: 'Zokor', date: '2026-11-30' },
];

/** The newest release whose date has passed when this table was written; used when the nixpkgs in use is unknown. */
export const LATEST_STABLE = '26.05';

/**
 * Values home-manager accepts for `home.stateVersion` on its newest branch (an enum; older branches
 * accept a prefix of it). "21.03" is in it, unlike for NixOS.
 */
export const HOME_MANAGER_STATE_VERSIONS: readonly string[] = [
  '18.09',
  '19.03',
  '19.09',
  '20.03',
  '20.09',
  '21.03',
  '21.05',
  '21.11',
  '22.05',
  '22.11',
  '23.05',
  '23.11',
  '24.05',
  '24.11',
  '25.05',
  '25.11',
  '26.05',
  '26.11',
];

/** home-manager's release-24.11 branch already accepts "25.05"; every other branch stops at its own release. */
export function homeManagerMaxStateVersion(hmRelease: string): string {
  return hmRelease === '24.11' ? '25.05' : hmRelease;
}

const RELEASE_SET = new Set(NIXOS_RELEASES.map((r) => r.version));

/** `"YY.MM"`: two digits, a dot, two digits (the format NixOS asserts since 25.05). */
export function isStateVersionFormat(value: string): boolean {
  return /^\d\d\.\d\d$/.test(value);
}

/**
 * Whether `value` is a NixOS release that exists or follows the schedule (YY.05 / YY.11 after the
 * table's end, so the database does not go stale the day after the next release).
 */
export function isNixosRelease(value: string): boolean {
  if (RELEASE_SET.has(value)) return true;
  const m = /^(\d\d)\.(\d\d)$/.exec(value);
  if (!m) return false;
  const year = Number(m[1]);
  return year >= 27 && (m[2] === '05' || m[2] === '11');
}

/** Compares two "YY.MM"-like versions as nixpkgs' `versionOlder` does for these values (numeric parts). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  const n = Math.max(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    if (x === y) continue;
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) return nx < ny ? -1 : 1;
    if (x === '') return -1;
    if (y === '') return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

export function versionAtLeast(value: string, threshold: string): boolean {
  return compareVersions(value, threshold) >= 0;
}

/** The release after `version` on the May/November schedule ("24.05" -> "24.11", "24.11" -> "25.05"). */
export function nextRelease(version: string): string {
  const known = NIXOS_RELEASES.findIndex((r) => r.version === version);
  if (known >= 0 && known + 1 < NIXOS_RELEASES.length) return NIXOS_RELEASES[known + 1]!.version;
  const m = /^(\d\d)\.(\d\d)$/.exec(version);
  if (!m) return version;
  const year = Number(m[1]);
  const month = Number(m[2]);
  if (month < 5) return `${String(year).padStart(2, '0')}.05`;
  if (month < 11) return `${String(year).padStart(2, '0')}.11`;
  return `${String(year + 1).padStart(2, '0')}.05`;
}

/** How long before a release master already carries the next release number (branch-off), generously. */
const BRANCH_OFF_MARGIN_DAYS = 45;

/**
 * The newest release a nixpkgs snapshot of this date can call itself (`lib.trivial.release`): the
 * first release dated after the snapshot, or the one after when the snapshot falls within the
 * branch-off window, when master already carries the next number. An upper bound on purpose: it
 * is used to decide that a stateVersion is newer than the nixpkgs in use, which must not be a false alarm.
 */
export function releaseUpperBoundForDate(date: Date): string {
  const shifted = new Date(date.getTime() + BRANCH_OFF_MARGIN_DAYS * 86_400_000);
  for (const release of NIXOS_RELEASES) {
    if (compareVersions(release.version, '21.05') < 0) continue;
    if (new Date(`${release.date}T23:59:59Z`).getTime() >= shifted.getTime()) return release.version;
  }
  // Past the table: continue the schedule (releases at the end of May and November).
  const year = shifted.getUTCFullYear() % 100;
  const month = shifted.getUTCMonth() + 1;
  if (month <= 5) return `${String(year).padStart(2, '0')}.05`;
  if (month <= 11) return `${String(year).padStart(2, '0')}.11`;
  return `${String((year + 1) % 100).padStart(2, '0')}.05`;
}

export function releaseInfo(version: string): NixosRelease | undefined {
  return NIXOS_RELEASES.find((r) => r.version === version);
}

function months(version: string): number | undefined {
  const m = /^(\d\d)\.(\d\d)$/.exec(version);
  return m ? Number(m[1]) * 12 + Number(m[2]) : undefined;
}

/**
 * The release among `candidates` (default: every NixOS release) closest in time to a "YY.MM" value that is no
 * release ("21.03", planned but shipped as 21.05, gives "21.05"); on a tie the earlier one, the release that was out
 * when a machine was installed between the two. Undefined for a value not in "YY.MM" form.
 */
export function nearestRelease(
  value: string,
  candidates: readonly string[] = NIXOS_RELEASES.map((r) => r.version),
): string | undefined {
  const at = months(value);
  if (at === undefined) return undefined;
  let best: { version: string; distance: number } | undefined;
  for (const version of candidates) {
    const m = months(version);
    if (m === undefined) continue;
    const distance = Math.abs(m - at);
    if (!best || distance < best.distance || (distance === best.distance && compareVersions(version, best.version) < 0))
      best = { version, distance };
  }
  return best?.version;
}

/**
 * Drift: which commit each machine runs (its system's `configurationRevision`) against the workspace's HEAD, in
 * words a fleet owner reads at a glance: "up to date", "3 commits behind", "2 commits ahead", "runs a dirty tree",
 * "unknown (no revision recorded: pin it)". Plus one summary row for the fleet. git runs through core/exec/git
 * (safe argv and environment), one small call per distinct revision.
 */
import { runGit, type GitRepository } from '../exec/git';

export type Drift =
  | { kind: 'up-to-date'; revision: string }
  | { kind: 'behind'; revision: string; commits: number }
  | { kind: 'ahead'; revision: string; commits: number }
  | { kind: 'diverged'; revision: string; behind: number; ahead: number }
  | { kind: 'dirty' }
  | { kind: 'not-in-repository'; revision: string }
  | { kind: 'unknown'; why: 'no-revision' | 'unreachable' | 'no-repository' };

const FULL = /^[0-9a-f]{40}$/;
/** Flakes record `<sha>-dirty` or "dirty" (system.configurationRevision = self.dirtyRev or a constant). */
const DIRTY = /(^|-)dirty$/;

export function describeDrift(d: Drift): string {
  switch (d.kind) {
    case 'up-to-date':
      return 'up to date';
    case 'behind':
      return `${d.commits} commit${d.commits === 1 ? '' : 's'} behind`;
    case 'ahead':
      return `${d.commits} commit${d.commits === 1 ? '' : 's'} ahead of HEAD`;
    case 'diverged':
      return `diverged: ${d.behind} behind, ${d.ahead} ahead`;
    case 'dirty':
      return 'runs a dirty tree';
    case 'not-in-repository':
      return `runs ${d.revision.slice(0, 12)}, a commit this repository does not have`;
    case 'unknown':
      return d.why === 'no-revision'
        ? 'unknown (no revision recorded: pin it)'
        : d.why === 'unreachable'
          ? 'unknown (machine unreachable)'
          : 'unknown (no git repository)';
  }
}

/** The drift of one running revision against HEAD of `repo`. Never rejects. */
export async function driftOf(revision: string | null, repo: GitRepository | undefined): Promise<Drift> {
  if (revision !== null && DIRTY.test(revision)) return { kind: 'dirty' };
  if (revision === null || !FULL.test(revision)) return { kind: 'unknown', why: 'no-revision' };
  if (!repo) return { kind: 'unknown', why: 'no-repository' };
  try {
    const exists = await runGit(repo, ['cat-file', '-e', `${revision}^{commit}`], { timeoutMs: 15_000 });
    if (exists.exitCode !== 0) return { kind: 'not-in-repository', revision };
    // "behind ahead": commits HEAD has that the machine lacks, and the other way round
    const r = await runGit(repo, ['rev-list', '--left-right', '--count', `HEAD...${revision}`], { timeoutMs: 15_000 });
    const [behind, ahead] = r.stdout.trim().split(/\s+/).map(Number);
    if (
      r.exitCode !== 0 ||
      behind === undefined ||
      ahead === undefined ||
      Number.isNaN(behind) ||
      Number.isNaN(ahead)
    ) {
      return { kind: 'not-in-repository', revision };
    }
    if (behind === 0 && ahead === 0) return { kind: 'up-to-date', revision };
    if (ahead === 0) return { kind: 'behind', revision, commits: behind };
    if (behind === 0) return { kind: 'ahead', revision, commits: ahead };
    return { kind: 'diverged', revision, behind, ahead };
  } catch {
    return { kind: 'not-in-repository', revision };
  }
}

/** One row for the fleet: "4 machines: 2 up to date, 1 3 commits behind, 1 unknown (no revision recorded: pin it)". */
export function fleetSummary(drifts: readonly Drift[]): string {
  const counts = new Map<string, number>();
  for (const d of drifts) {
    const text = describeDrift(d);
    counts.set(text, (counts.get(text) ?? 0) + 1);
  }
  const order = (t: string): number => (t === 'up to date' ? 0 : t.startsWith('unknown') ? 2 : 1);
  const parts = [...counts.entries()]
    .sort((a, b) => order(a[0]) - order(b[0]) || a[0].localeCompare(b[0]))
    .map(([text, n]) => `${n} ${text}`);
  return `${drifts.length} machine${drifts.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

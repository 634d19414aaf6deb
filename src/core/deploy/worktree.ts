/**
 * "Roll back the flakes way": check out the commit a generation was built from (its configurationRevision) in a
 * separate git worktree, so the user's checkout and uncommitted work are never touched, and rebuild from there.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { openRepository, repositoryAt, runGit, type GitRepository } from '../exec/git';

export interface ParsedRevision {
  /** The commit (7 to 40 hex digits). */
  commit: string;
  /** The generation was built from uncommitted changes on top of the commit (`self.dirtyRev`). */
  dirty: boolean;
}

/**
 * Reads a configurationRevision: `<sha>`, `<sha>-dirty` (`self.dirtyRev`), or `dirty` alone (no commit known:
 * null). Anything that is not hex is refused (null), so it can never be read as an option or a ref expression.
 */
export function parseRevision(revision: string | null | undefined): ParsedRevision | null {
  if (!revision) return null;
  const text = revision.trim().toLowerCase();
  const match = /^([0-9a-f]{7,40})(-dirty)?$/.exec(text);
  if (!match) return null;
  return { commit: match[1]!, dirty: match[2] !== undefined };
}

export interface CheckoutRequest {
  /** Any directory inside the repository (usually the flake's). */
  repoDir: string;
  revision: string;
  /** Used in the worktree's directory name. */
  generation: number;
  /** Where to put the worktree; default: next to the repository, `<repo>.generation-<N>-<sha7>`. */
  worktreeDir?: string;
  env?: NodeJS.ProcessEnv;
}

export interface CheckoutResult {
  /** The worktree's root. */
  worktree: string;
  /** The flake directory inside it (same relative place as `repoDir` in the repository). */
  flakeDir: string;
  /** Full commit hash. */
  commit: string;
  /** An existing worktree at that commit was reused. */
  reused: boolean;
  dirty: boolean;
}

/** git on `repo` through core/exec/git: no transport, no hook, no helper a repository could name. */
async function git(
  args: string[],
  repo: GitRepository,
  env?: NodeJS.ProcessEnv,
): Promise<{ ok: boolean; out: string; err: string }> {
  const result = await runGit(repo, args, { ...(env ? { env } : {}), timeoutMs: 60000 });
  return { ok: result.exitCode === 0, out: result.stdout.trim(), err: result.stderr.trim() };
}

/** Checks out the generation's commit in a detached worktree. Throws Error with a message for the user. */
export async function checkoutRevision(request: CheckoutRequest): Promise<CheckoutResult> {
  const parsed = parseRevision(request.revision);
  if (!parsed) {
    throw new Error(
      request.revision?.trim().toLowerCase() === 'dirty'
        ? 'this generation was built from uncommitted changes and records no commit; there is nothing to check out'
        : `"${request.revision}" is not a git commit hash`,
    );
  }
  const { repo, refused } = await openRepository(request.repoDir);
  if (refused) throw new Error(refused);
  const top = repo ? await git(['rev-parse', '--show-toplevel'], repo, request.env) : null;
  if (!repo || !top?.ok) throw new Error(`${request.repoDir} is not in a git repository${top ? ` (${top.err})` : ''}`);
  const root = top.out;
  const resolved = await git(['rev-parse', '--verify', '--quiet', `${parsed.commit}^{commit}`], repo, request.env);
  if (!resolved.ok || !/^[0-9a-f]{40,64}$/.test(resolved.out)) {
    throw new Error(
      `commit ${parsed.commit} is not in ${root}; fetch it first (git fetch), or it was never pushed from the machine that built this generation`,
    );
  }
  const commit = resolved.out;
  const realRepo = await fsp.realpath(request.repoDir);
  const realRoot = await fsp.realpath(root);
  const relative = path.relative(realRoot, realRepo);
  const worktree = path.resolve(
    request.worktreeDir ?? `${realRoot}.generation-${request.generation}-${commit.slice(0, 7)}`,
  );
  const flakeDir = relative === '' ? worktree : path.join(worktree, relative);

  // Reuse a worktree already checked out at this commit; never overwrite anything else.
  const existing = await fsp.stat(worktree).catch(() => null);
  if (existing) {
    const head = await git(['rev-parse', 'HEAD'], repositoryAt(worktree), request.env);
    const itsRoot = await git(['rev-parse', '--show-toplevel'], repositoryAt(worktree), request.env);
    const sameRoot = itsRoot.ok && (await fsp.realpath(itsRoot.out).catch(() => '')) === (await fsp.realpath(worktree));
    if (head.ok && sameRoot && head.out === commit) {
      return { worktree, flakeDir, commit, reused: true, dirty: parsed.dirty };
    }
    throw new Error(
      `${worktree} already exists and is not a checkout of ${commit.slice(0, 12)}; remove it or pick another place`,
    );
  }
  const added = await git(['worktree', 'add', '--detach', '--', worktree, commit], repo, request.env);
  if (!added.ok) throw new Error(`git worktree add failed: ${added.err}`);
  return { worktree, flakeDir, commit, reused: false, dirty: parsed.dirty };
}

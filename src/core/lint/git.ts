/**
 * Reading files as they were at a git revision (`git show REV:path`), for the rules that compare a
 * configuration with its base. Every call goes through core/exec/git (argv only, no transport, no helper, the
 * repository named explicitly); a revision or path that git does not know yields undefined, never an exception.
 */
import * as path from 'node:path';
import { runProcess } from '../exec/process';
import { openRepository, repositoryAt, runGit } from '../exec/git';

const GIT_TIMEOUT_MS = 15_000;

/**
 * The top of the git work tree holding `dir` (the nearest `.git` at or above it, not above `ceiling`), or
 * undefined when there is none, git is missing, or the repository is refused (a partial clone: `onRefused` says why).
 */
export async function gitTopLevel(
  dir: string,
  ceiling?: string,
  onRefused?: (why: string) => void,
): Promise<string | undefined> {
  try {
    const { repo, refused } = await openRepository(dir, ceiling);
    if (refused) onRefused?.(refused);
    if (!repo) return undefined;
    const r = await runGit(repo, ['rev-parse', '--git-dir'], { timeoutMs: GIT_TIMEOUT_MS });
    return r.exitCode === 0 ? repo.top : undefined;
  } catch {
    return undefined;
  }
}

/** The full commit id of `rev` in the repository at `top`, or undefined when it does not resolve. */
export async function gitResolve(top: string, rev: string): Promise<string | undefined> {
  if (rev.startsWith('-')) return undefined;
  try {
    const r = await runGit(repositoryAt(top), ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], {
      timeoutMs: GIT_TIMEOUT_MS,
    });
    const id = r.stdout.trim();
    return r.exitCode === 0 && /^[0-9a-f]{40,64}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A snapshot of files at one commit, read lazily with `git show` and cached.
 * `read(absPath)` gives the file's text at the commit, or undefined when it did not exist there.
 */
export class GitSnapshot {
  private readonly cache = new Map<string, Promise<string | undefined>>();

  constructor(
    readonly top: string,
    readonly commit: string,
    /** The revision as the user named it (HEAD, main, a generation's configurationRevision). */
    readonly label: string,
  ) {}

  read(absPath: string): Promise<string | undefined> {
    const rel = path.relative(this.top, absPath).split(path.sep).join('/');
    if (rel.startsWith('..') || path.isAbsolute(rel)) return Promise.resolve(undefined);
    let pending = this.cache.get(rel);
    if (!pending) {
      pending = runGit(repositoryAt(this.top), ['show', '--no-textconv', `${this.commit}:${rel}`], {
        timeoutMs: GIT_TIMEOUT_MS,
        maxOutputBytes: 16 * 1024 * 1024,
      }).then(
        (r) => (r.exitCode === 0 && !r.truncated ? r.stdout : undefined),
        () => undefined,
      );
      this.cache.set(rel, pending);
    }
    return pending;
  }
}

/** Opens a snapshot of the repository holding `dir` at `rev`; undefined when there is no repository or no such revision. */
export async function openSnapshot(
  dir: string,
  rev: string,
  label = rev,
  onRefused?: (why: string) => void,
): Promise<GitSnapshot | undefined> {
  const top = await gitTopLevel(dir, undefined, onRefused);
  if (!top) return undefined;
  const commit = await gitResolve(top, rev);
  if (!commit) return undefined;
  return new GitSnapshot(top, commit, label);
}

/**
 * The configurationRevision of the activated system (`<runDir>/current-system`), read with its own
 * `nixos-version --json`; undefined when there is none, it is not a git commit, or it is "dirty".
 */
export async function activatedRevision(runDir: string): Promise<string | undefined> {
  const exe = path.join(runDir, 'current-system', 'sw', 'bin', 'nixos-version');
  try {
    const r = await runProcess([exe, '--json'], { timeoutMs: 5000 });
    if (r.exitCode !== 0) return undefined;
    const data = JSON.parse(r.stdout) as { configurationRevision?: unknown };
    const rev = data.configurationRevision;
    return typeof rev === 'string' && /^[0-9a-f]{7,64}$/.test(rev) ? rev : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads many files of a snapshot with one `git cat-file --batch` process (hundreds of files in a
 * few milliseconds instead of one `git show` each); anything it cannot read is left to `read`.
 */
export async function prefetchSnapshot(
  snapshot: GitSnapshot,
  absPaths: readonly string[],
): Promise<Map<string, string | undefined>> {
  const result = new Map<string, string | undefined>();
  const rels: string[] = [];
  for (const p of absPaths) {
    const rel = path.relative(snapshot.top, p).split(path.sep).join('/');
    if (rel.startsWith('..') || path.isAbsolute(rel) || /[\n\r]/.test(rel)) continue;
    rels.push(rel);
  }
  if (rels.length === 0) return result;
  try {
    const r = await runGit(repositoryAt(snapshot.top), ['cat-file', '--batch'], {
      input: rels.map((rel) => `${snapshot.commit}:${rel}\n`).join(''),
      timeoutMs: 60_000,
      maxOutputBytes: 512 * 1024 * 1024,
    });
    if (r.exitCode !== 0 || r.truncated) return result;
    const buf = Buffer.from(r.stdout, 'utf8');
    let at = 0;
    for (const rel of rels) {
      const nl = buf.indexOf(10, at);
      if (nl < 0) break;
      const header = buf.subarray(at, nl).toString('utf8');
      at = nl + 1;
      const abs = path.join(snapshot.top, ...rel.split('/'));
      if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
        result.set(abs, undefined);
        continue;
      }
      const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
      if (!m) break;
      const size = Number(m[2]);
      const body = buf.subarray(at, at + size);
      at += size + 1;
      result.set(abs, m[1] === 'blob' ? body.toString('utf8') : undefined);
    }
  } catch {
    // Fall back to one `git show` per file.
  }
  return result;
}

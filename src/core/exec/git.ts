/**
 * Every git process the project starts, for any repository (lint comparisons, generation checkouts): argv only,
 * and unable to reach a transport, a credential helper or any program a repository's config names.
 *
 * Why: a repository can commit a folder laid out as a git directory (HEAD, objects/, refs/, a config with
 * `extensions.partialClone` and `core.sshCommand`). git run inside it takes that folder as a repository, and a
 * read of a missing object fetches it lazily from the "promisor" remote, running the config's ssh command. So:
 *
 * - the repository is found here, not by git: the nearest `.git` entry at or above a directory (a path named
 *   `.git` can never be committed, so only git itself made it), and git is told exactly which one
 *   (`--git-dir`, `--work-tree`), with GIT_CEILING_DIRECTORIES and `safe.bareRepository=explicit` besides;
 * - a repository whose config asks for lazy fetching (a partial clone, a promisor remote) is refused;
 * - every protocol is off (GIT_ALLOW_PROTOCOL names none, which wins over any config), ssh and askpass programs
 *   are `false`, credential helpers, hooks, fsmonitor, pager and external diff are off, and git variables of our
 *   own environment (GIT_DIR, GIT_SSH_COMMAND, ...) are dropped; GIT_NO_LAZY_FETCH for gits that know it.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { runProcess, type RunOptions, type RunResult } from './process';

/** `-c` settings on every call; command-line settings win over every config file. */
const GIT_SAFE_CONFIG: readonly string[] = [
  'protocol.allow=never',
  'protocol.file.allow=never',
  'protocol.git.allow=never',
  'protocol.ssh.allow=never',
  'protocol.http.allow=never',
  'protocol.https.allow=never',
  'protocol.ext.allow=never',
  'core.sshCommand=false',
  'core.gitProxy=false',
  'core.askPass=false',
  'credential.helper=',
  'core.fsmonitor=false',
  'core.hooksPath=/dev/null',
  'core.pager=cat',
  'diff.external=',
  'safe.bareRepository=explicit',
  'fetch.recurseSubmodules=false',
  'submodule.recurse=false',
].flatMap((kv) => ['-c', kv]);

/** A work tree and the `.git` entry (directory, or a file pointing to one) that belongs to it. */
export interface GitRepository {
  top: string;
  gitDir: string;
}

/** The environment of a git process: ours without any GIT_* or ssh/askpass variable, plus the safe ones. */
export function gitEnvironment(base: NodeJS.ProcessEnv = process.env, top?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) {
    if (k.startsWith('GIT_') || k === 'SSH_ASKPASS' || k === 'SSH_ASKPASS_REQUIRE') continue;
    env[k] = v;
  }
  return {
    ...env,
    GIT_ALLOW_PROTOCOL: 'none-allowed',
    GIT_PROTOCOL_FROM_USER: '0',
    GIT_NO_LAZY_FETCH: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_SSH_COMMAND: 'false',
    GIT_SSH: 'false',
    GIT_ASKPASS: 'false',
    GIT_NO_REPLACE_OBJECTS: '1',
    GIT_OPTIONAL_LOCKS: '0',
    LC_ALL: 'C',
    ...(top !== undefined ? { GIT_CEILING_DIRECTORIES: path.dirname(top) } : {}),
  };
}

/** git's argv for `repo` (or no repository: `git --version` and the like). */
export function gitArgv(repo: GitRepository | null, ...args: string[]): string[] {
  const where = repo ? [`--git-dir=${repo.gitDir}`, `--work-tree=${repo.top}`] : [];
  return ['git', ...GIT_SAFE_CONFIG, ...where, ...args];
}

/** Runs git on `repo` with the safe argv and environment. Resolves whatever the exit code. */
export function runGit(repo: GitRepository | null, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const { env, baseEnv, ...rest } = options;
  return runProcess(gitArgv(repo, ...args), {
    ...rest,
    cwd: options.cwd ?? repo?.top,
    baseEnv: { ...gitEnvironment(baseEnv, repo?.top), ...stripGit(env) },
  });
}

function stripGit(env: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env ?? {})) if (!k.startsWith('GIT_')) out[k] = v;
  return out;
}

/**
 * The repository holding `dir`: the nearest directory at or above it (never above `ceiling`, the workspace root,
 * when given) with a `.git` directory or file. A directory that merely looks like a git directory is never taken.
 */
async function findRepository(dir: string, ceiling?: string): Promise<GitRepository | undefined> {
  let current: string;
  try {
    current = await fsp.realpath(dir);
  } catch {
    return undefined;
  }
  const stop = ceiling !== undefined ? await fsp.realpath(ceiling).catch(() => path.resolve(ceiling)) : undefined;
  for (;;) {
    const gitDir = path.join(current, '.git');
    const st = await fsp.lstat(gitDir).catch(() => null);
    if (st && (st.isDirectory() || st.isFile())) return { top: current, gitDir };
    if (stop !== undefined && current === stop) return undefined;
    const parent = path.dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

/**
 * Why the project will not read `repo` with git, or null. A partial clone (`extensions.partialClone`, a remote
 * with `promisor = true`) fetches missing objects on a plain read; old gits have no switch to stop that, so such
 * a repository is not read at all.
 */
async function repositoryRefusal(repo: GitRepository): Promise<string | null> {
  const r = await runGit(repo, ['config', '--list', '-z'], { timeoutMs: 15_000, maxOutputBytes: 4 * 1024 * 1024 });
  if (r.exitCode !== 0) return `git cannot read the repository at ${repo.top}`;
  for (const entry of r.stdout.split('\0')) {
    const nl = entry.indexOf('\n');
    const key = (nl < 0 ? entry : entry.slice(0, nl)).toLowerCase();
    const value =
      nl < 0
        ? 'true'
        : entry
            .slice(nl + 1)
            .trim()
            .toLowerCase();
    if (key === 'extensions.partialclone') {
      return `${repo.top} is a partial clone (extensions.partialClone): not read, so that nothing is ever fetched`;
    }
    if (/^remote\..*\.promisor$/.test(key) && value !== 'false' && value !== '0' && value !== 'no') {
      return `${repo.top} has a promisor remote: not read, so that nothing is ever fetched`;
    }
  }
  return null;
}

/** The repository holding `dir` when it is safe to read, else undefined (and why, when it was refused). */
export async function openRepository(
  dir: string,
  ceiling?: string,
): Promise<{ repo: GitRepository | undefined; refused: string | null }> {
  const repo = await findRepository(dir, ceiling);
  if (!repo) return { repo: undefined, refused: null };
  const refused = await repositoryRefusal(repo);
  return refused ? { repo: undefined, refused } : { repo, refused: null };
}

/** The repository whose work tree is `top` (found before), for the calls that follow. */
export function repositoryAt(top: string): GitRepository {
  return { top, gitDir: path.join(top, '.git') };
}

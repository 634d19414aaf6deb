/**
 * Running the evaluation: `nix eval --json` of our expression on `<flake>#nixosConfigurations."<host>"`, offline,
 * never building, one process at a time, cancellable, cached by (flake.lock hash, git tree hash, host).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { runProcess, SpawnError } from '../exec/process';
import { HOME_MANAGER_GATES, NIXOS_GATES } from '../lint/gates';
import { repositoryAt, runGit } from '../exec/git';
import { gitTopLevel } from '../lint/git';
import { listNixFiles } from '../lint/engine';
import { digestEvaluation } from './digest';
import { applyArgument, EVAL_EXPRESSION } from './expression';
import type { EvalParams } from './expression';
import type { EvalOutcome, HostEvaluation } from './types';

const FEATURES = ['--extra-experimental-features', 'nix-command flakes'];
const OPTION_PATH = /^[A-Za-z_][\w'-]*(\.[A-Za-z_][\w'-]*)*$/;
/** Host names we pass in an installable's attribute path (quoted there); anything else is refused. */
const HOST_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$/;

/** The option paths of the rule database, split (NixOS gates and home-manager gates). */
export function ruleDatabaseOptions(): { nixos: string[]; home: string[] } {
  const collect = (gates: typeof NIXOS_GATES): string[] => {
    const out = new Set<string>();
    for (const g of gates) {
      for (const o of [g.option, g.fixOption, ...g.pinnedBy, g.when.kind === 'always' ? undefined : g.when.option]) {
        if (o && OPTION_PATH.test(o)) out.add(o);
      }
    }
    return [...out];
  };
  return { nixos: collect(NIXOS_GATES), home: collect(HOME_MANAGER_GATES) };
}

/** The command that fetches a flake's inputs into the store, for the "inputs not fetched" message. */
function fetchInputsCommand(nix: string, flakeDir: string): string[] {
  return [nix, ...FEATURES, 'flake', 'archive', flakeDir];
}

/** A flake reference Nix parses as a plain directory (git+file inside a work tree, path: otherwise). */
function flakeRefOf(flakeDir: string): string | undefined {
  if (!path.isAbsolute(flakeDir) || /[#?\s"\\]/.test(flakeDir)) return undefined;
  return flakeDir;
}

export function isEvaluableHostName(host: string): boolean {
  return HOST_NAME.test(host);
}

/** `nix eval` of `<flake>#<attribute>` with `--apply`: offline, no lock file written, no import-from-derivation. */
function offlineEvalArgv(nix: string, flakeDir: string, attribute: string, apply: string): string[] {
  const ref = flakeRefOf(flakeDir);
  if (!ref) throw new Error(`cannot name ${flakeDir} as a flake reference`);
  return [
    nix,
    ...FEATURES,
    'eval',
    '--json',
    '--offline',
    '--read-only',
    '--no-write-lock-file',
    '--option',
    'allow-import-from-derivation',
    'false',
    `${ref}#${attribute}`,
    '--apply',
    apply,
  ];
}

/** The argv of one evaluation of a host with our expression. */
export function nixEvalArgv(nix: string, flakeDir: string, host: string, params: EvalParams): string[] {
  if (!isEvaluableHostName(host)) throw new Error(`host name '${host}' is not one Nix can be asked about safely`);
  return offlineEvalArgv(nix, flakeDir, `nixosConfigurations."${host}"`, applyArgument(params));
}

/** Names of `nixosConfigurations` as Nix sees them (for hosts built from data the static reading cannot list). */
function nixHostsArgv(nix: string, flakeDir: string): string[] {
  return offlineEvalArgv(nix, flakeDir, 'nixosConfigurations', 'builtins.attrNames');
}

/**
 * For the git processes Nix starts to read a git flake: settings from the environment win over the repository's
 * own config, so a repository cannot make them run a program (fsmonitor, hooks, an ssh command).
 */
const NIX_GIT_ENV: Record<string, string> = {
  GIT_CONFIG_COUNT: '3',
  GIT_CONFIG_KEY_0: 'core.fsmonitor',
  GIT_CONFIG_VALUE_0: 'false',
  GIT_CONFIG_KEY_1: 'core.hooksPath',
  GIT_CONFIG_VALUE_1: '/dev/null',
  GIT_CONFIG_KEY_2: 'core.sshCommand',
  GIT_CONFIG_VALUE_2: 'false',
  GIT_TERMINAL_PROMPT: '0',
};

const sha256 = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');

/**
 * The cache key of a host's evaluation: flake.lock's hash, the git tree Nix would copy (HEAD's tree plus the
 * diff of tracked files, which is what a dirty git flake evaluates), the host, and our expression. Outside git,
 * the .nix files' paths, sizes and modification times stand in for the tree.
 */
async function evaluationKey(flakeDir: string, host: string, params: EvalParams, gitTop?: string): Promise<string> {
  const lock = await fs.readFile(path.join(flakeDir, 'flake.lock')).catch(() => Buffer.from(''));
  let tree: string;
  if (gitTop) {
    const repo = repositoryAt(gitTop);
    const head = await runGit(repo, ['rev-parse', '--verify', '--quiet', 'HEAD^{tree}'], { timeoutMs: 15_000 });
    const diff = await runGit(repo, ['diff', '--no-ext-diff', '--no-textconv', '--binary', 'HEAD', '--'], {
      timeoutMs: 15_000,
      maxOutputBytes: 256 * 1024 * 1024,
    });
    tree = `git:${head.stdout.trim()}:${sha256(diff.stdout)}:${diff.exitCode}`;
  } else {
    const files = await listNixFiles(flakeDir, 20_000);
    const stats = await Promise.all(
      files.map(async (f) =>
        fs.stat(f).then(
          (s) => `${f}:${s.size}:${s.mtimeMs}`,
          () => f,
        ),
      ),
    );
    tree = `files:${sha256(stats.join('\n'))}`;
  }
  return sha256(JSON.stringify([sha256(lock), tree, host, flakeDir, params, sha256(EVAL_EXPRESSION)]));
}

/** Nix's own message from stderr: from the first "error:" on, without the retry warnings, bounded. */
export function nixMessage(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => !/^warning: /.test(l) && !/use '--show-trace'/.test(l));
  const start = lines.findIndex((l) => l.startsWith('error:'));
  const text = (start >= 0 ? lines.slice(start) : lines).join('\n').trim();
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text || 'nix eval failed without a message';
}

const INPUTS_MISSING =
  /unable to download|Couldn't resolve host|is not available in offline mode|cannot fetch|unable to fetch|does not exist in offline mode|substituters are disabled/i;

export interface EvaluatorOptions {
  /** The nix executable (a machine-scoped setting in the editor). */
  nix?: string;
  /** Environment for nix (tests point it at a private store). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Persist results here between runs (the CLI); in memory only when absent. */
  cacheDir?: string;
  /** One line per evaluation (host, time, outcome). */
  log?: (line: string) => void;
  /** stateVersion to try when raising; default: the nixpkgs release the flake evaluates. */
  target?: string;
  /** Compare every enabled service's options when raising (default true). */
  compareServices?: boolean;
}

export interface EvaluateRequest {
  flakeDir: string;
  host: string;
  signal?: AbortSignal;
}

/**
 * Evaluates hosts one at a time. Requests queue; an aborted request (waiting or running) ends as
 * `cancelled` and kills its nix process. Results are cached in memory (and on disk with `cacheDir`).
 */
export class Evaluator {
  private readonly cache = new Map<string, HostEvaluation>();
  private queue: Promise<unknown> = Promise.resolve();
  /** nix processes started (the cache tests count them). */
  processes = 0;

  constructor(private readonly options: EvaluatorOptions = {}) {}

  get nix(): string {
    return this.options.nix ?? 'nix';
  }

  params(): EvalParams {
    const db = ruleDatabaseOptions();
    return {
      target: this.options.target ?? null,
      options: db.nixos.map((o) => o.split('.')),
      homeOptions: db.home.map((o) => o.split('.')),
      compareServices: this.options.compareServices ?? true,
      maxOptionsPerService: 200,
    };
  }

  /** Evaluates one host after every earlier request has finished. */
  evaluate(request: EvaluateRequest): Promise<EvalOutcome> {
    const run = this.queue.then(() => this.evaluateNow(request));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Hosts of the flake as Nix lists them (empty with a message when it cannot). */
  async hosts(flakeDir: string, signal?: AbortSignal): Promise<{ hosts: string[]; message?: string }> {
    try {
      this.processes++;
      const r = await runProcess(nixHostsArgv(this.nix, flakeDir), {
        cwd: flakeDir,
        env: { ...this.options.env, ...NIX_GIT_ENV },
        timeoutMs: this.options.timeoutMs ?? 120_000,
        ...(signal ? { signal } : {}),
        maxOutputBytes: 4 * 1024 * 1024,
      });
      if (r.exitCode !== 0) return { hosts: [], message: nixMessage(r.stderr) };
      const names: unknown = JSON.parse(r.stdout);
      return { hosts: Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [] };
    } catch (error) {
      return { hosts: [], message: error instanceof Error ? error.message : String(error) };
    }
  }

  private async evaluateNow(request: EvaluateRequest): Promise<EvalOutcome> {
    const started = Date.now();
    const ms = (): number => Date.now() - started;
    const { flakeDir, host, signal } = request;
    const done = (outcome: EvalOutcome): EvalOutcome => {
      const what =
        outcome.status === 'ok'
          ? outcome.fromCache
            ? 'from cache'
            : 'evaluated'
          : outcome.status === 'failed' || outcome.status === 'inputs-missing' || outcome.status === 'nix-missing'
            ? `${outcome.status}: ${outcome.message.split('\n')[0]}`
            : outcome.status;
      this.options.log?.(`evaluation of ${host} (${flakeDir}): ${what} in ${outcome.ms} ms`);
      return outcome;
    };
    if (signal?.aborted) return done({ status: 'cancelled', ms: ms() });
    if (!isEvaluableHostName(host)) {
      return done({
        status: 'failed',
        message: `host name '${host}' cannot be passed to Nix safely; not evaluated`,
        ms: ms(),
      });
    }
    if (!flakeRefOf(flakeDir)) {
      return done({
        status: 'failed',
        message: `the flake directory ${flakeDir} cannot be named to Nix safely; not evaluated`,
        ms: ms(),
      });
    }
    const params = this.params();
    let refused: string | undefined;
    const gitTop = await gitTopLevel(flakeDir, undefined, (why) => (refused = why));
    if (refused) return done({ status: 'failed', message: `not evaluated: ${refused}`, ms: ms() });
    const key = await evaluationKey(flakeDir, host, params, gitTop);
    const cached = this.cache.get(key) ?? (await this.readDisk(key));
    if (cached) {
      this.cache.set(key, cached);
      return done({ status: 'ok', evaluation: cached, ms: ms(), fromCache: true });
    }
    if (signal?.aborted) return done({ status: 'cancelled', ms: ms() });
    let result;
    try {
      this.processes++;
      result = await runProcess(nixEvalArgv(this.nix, flakeDir, host, params), {
        cwd: flakeDir,
        env: { ...this.options.env, ...NIX_GIT_ENV },
        timeoutMs: this.options.timeoutMs ?? 300_000,
        ...(signal ? { signal } : {}),
        maxOutputBytes: 32 * 1024 * 1024,
      });
    } catch (error) {
      if (error instanceof SpawnError && error.code === 'ENOENT') {
        return done({ status: 'nix-missing', message: `${this.nix} was not found on PATH`, ms: ms() });
      }
      return done({ status: 'failed', message: error instanceof Error ? error.message : String(error), ms: ms() });
    }
    if (signal?.aborted) return done({ status: 'cancelled', ms: ms() });
    if (result.exitCode !== 0) {
      if (result.timedOut) {
        return done({
          status: 'failed',
          message: `nix eval took longer than ${(this.options.timeoutMs ?? 300_000) / 1000} s and was stopped`,
          ms: ms(),
        });
      }
      const message = nixMessage(result.stderr);
      if (INPUTS_MISSING.test(result.stderr)) {
        return done({
          status: 'inputs-missing',
          message,
          fetchCommand: fetchInputsCommand(this.nix, flakeDir),
          ms: ms(),
        });
      }
      return done({ status: 'failed', message, ms: ms() });
    }
    let evaluation: HostEvaluation;
    try {
      evaluation = digestEvaluation(JSON.parse(result.stdout), {
        flakeDir,
        host,
        ...(gitTop ? { gitTop } : {}),
        options: params.options.map((p) => p.join('.')),
      });
    } catch (error) {
      return done({
        status: 'failed',
        message: `nix eval printed no usable result: ${error instanceof Error ? error.message : String(error)}`,
        ms: ms(),
      });
    }
    this.cache.set(key, evaluation);
    await this.writeDisk(key, evaluation);
    return done({ status: 'ok', evaluation, ms: ms(), fromCache: false });
  }

  private async readDisk(key: string): Promise<HostEvaluation | undefined> {
    if (!this.options.cacheDir) return undefined;
    try {
      const parsed = JSON.parse(
        await fs.readFile(path.join(this.options.cacheDir, `${key}.json`), 'utf8'),
      ) as HostEvaluation;
      return parsed && typeof parsed.host === 'string' && parsed.stateVersion ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  private async writeDisk(key: string, evaluation: HostEvaluation): Promise<void> {
    if (!this.options.cacheDir) return;
    try {
      await fs.mkdir(this.options.cacheDir, { recursive: true });
      const file = path.join(this.options.cacheDir, `${key}.json`);
      const tmp = `${file}.${process.pid}.tmp`;
      await fs.writeFile(tmp, JSON.stringify(evaluation));
      await fs.rename(tmp, file);
    } catch {
      // A cache that cannot be written only costs the next run its time.
    }
  }
}

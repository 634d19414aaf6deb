/**
 * Running processes with argv arrays (never a shell), with a timeout, cancellation and a bounded amount of
 * captured output: the one place the project starts processes, on top of execa. Used by the core, the CLI, the
 * server and the extension alike.
 *
 * execa is required on the first run, not when this module is loaded: it is ESM-only (Node >= 20.19 requires it
 * from CommonJS; scripts/build.mjs bundles it into CommonJS as dist/execa.js, one file shared by the CLI, the
 * extension and the server) and costs tens of milliseconds to load, which commands that never start a process
 * (`list`, `parse`) should not pay.
 */
import type * as Execa from 'execa';

export interface RunOptions {
  cwd?: string;
  /** Extra environment on top of `process.env` (or of `baseEnv` when given). */
  env?: NodeJS.ProcessEnv;
  /** Replace `process.env` as the base environment. */
  baseEnv?: NodeJS.ProcessEnv;
  /** Kill the process (and its group) after this many milliseconds. */
  timeoutMs?: number;
  /** Aborting it kills the process (and its group); when it is aborted already, nothing is started. */
  signal?: AbortSignal;
  /** Written to stdin, which is then closed. Without it stdin is /dev/null. */
  input?: string;
  /**
   * Cap on captured characters per stream (default 64 MiB): past it the stream is no longer read (a writer
   * that goes on gets EPIPE), what came before is kept and `truncated` set.
   */
  maxOutputBytes?: number;
  /** A file stdin is read from (streamed: a large file is never held in memory). */
  stdinFile?: string;
  /** A file stdout is written to (truncated first) instead of being captured: output of any size, bounded memory. */
  stdoutFile?: string;
}

export interface RunResult {
  /** The exit code, or null when the process was killed by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  truncated: boolean;
}

/** The process could not be started at all (missing executable, permission denied). */
export class SpawnError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'SpawnError';
  }
}

const DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024;

/** Runs `argv[0]` with `argv.slice(1)` as arguments; resolves whatever the exit code, rejects only on spawn failure. */
export async function runProcess(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  if (argv.length === 0) throw new SpawnError(argv, undefined, 'empty command line');
  if (options.signal?.aborted) {
    // execa would start it and kill it at once, which a fast command can outrun: it is not started at all
    const stderr = 'cancelled before it started\n';
    return { exitCode: null, signal: null, stdout: '', stderr, timedOut: false, truncated: false };
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { execa } = require('execa') as typeof Execa;
  const timeout = options.timeoutMs !== undefined ? Math.max(1, Math.ceil(options.timeoutMs)) : undefined;
  const subprocess = execa(argv[0]!, argv.slice(1), {
    cwd: options.cwd,
    env: { ...(options.baseEnv ?? process.env), ...options.env },
    extendEnv: false,
    ...(options.stdinFile !== undefined
      ? { stdin: { file: options.stdinFile } }
      : options.input === undefined
        ? { stdin: 'ignore' }
        : { input: options.input }),
    stdout: options.stdoutFile !== undefined ? { file: options.stdoutFile } : 'pipe',
    stderr: 'pipe',
    encoding: 'utf8',
    stripFinalNewline: false,
    maxBuffer: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT,
    ...(timeout !== undefined ? { timeout } : {}),
    ...(options.signal ? { cancelSignal: options.signal } : {}),
    killSignal: 'SIGKILL',
    // its own process group, so that stopping it also stops what it started (ssh, nix's builders, a shell's
    // children), which would otherwise keep the pipes open and the run waiting
    detached: process.platform !== 'win32',
    windowsHide: true,
    reject: false,
  });
  // execa stops a timed-out or cancelled process with SIGKILL to the process itself; the rest of the group goes too
  subprocess.once('exit', (_code, signal) => {
    if (signal === 'SIGKILL' && subprocess.pid !== undefined && process.platform !== 'win32') {
      try {
        process.kill(-subprocess.pid, 'SIGKILL');
      } catch {
        // the group is already gone
      }
    }
  });
  const result = await subprocess;
  if (result.failed && result.exitCode === undefined && result.signal === undefined && !result.isCanceled) {
    // never started: execa reports the spawn error's code (ENOENT, EACCES) and message
    const code = (result as { code?: string }).code;
    throw new SpawnError(argv, code, `cannot run ${argv[0]}: ${result.originalMessage ?? result.shortMessage}`);
  }
  return {
    exitCode: result.exitCode ?? null,
    signal: (result.signal as NodeJS.Signals | undefined) ?? null,
    stdout: typeof result.stdout === 'string' ? result.stdout : '',
    stderr: typeof result.stderr === 'string' ? result.stderr : '',
    timedOut: result.timedOut,
    truncated: result.isMaxBuffer,
  };
}

/** Like `runProcess`, but rejects with the command's stderr when it does not exit 0. */
export async function runChecked(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await runProcess(argv, options);
  if (result.exitCode !== 0) {
    const why = result.timedOut ? 'timed out' : `exited with ${result.exitCode ?? result.signal}`;
    const detail = result.stderr.trim().split('\n').slice(-5).join('\n');
    throw new Error(`${argv[0]} ${why}${detail ? `: ${detail}` : ''}`);
  }
  return result;
}

/**
 * Running processes with argv arrays (never a shell), with a timeout, cancellation and a bounded
 * amount of captured output. Used by the core, the CLI, the server and the extension alike.
 */
import { spawn } from 'node:child_process';

export interface RunOptions {
  cwd?: string;
  /** Extra environment on top of `process.env` (or of `baseEnv` when given). */
  env?: NodeJS.ProcessEnv;
  /** Replace `process.env` as the base environment. */
  baseEnv?: NodeJS.ProcessEnv;
  /** Kill the process (and its group) after this many milliseconds. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Written to stdin, which is then closed. Without it stdin is /dev/null. */
  input?: string;
  /** Cap on captured bytes per stream (default 64 MiB); the rest is dropped and `truncated` set. */
  maxOutputBytes?: number;
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

/** Runs `argv[0]` with `argv.slice(1)` as arguments; resolves whatever the exit code, rejects only on spawn failure. */
export function runProcess(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  if (argv.length === 0) {
    return Promise.reject(new SpawnError(argv, undefined, 'empty command line'));
  }
  const maxBytes = options.maxOutputBytes ?? 64 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: options.cwd,
      env: { ...(options.baseEnv ?? process.env), ...options.env },
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
      windowsHide: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let truncated = false;
    let timedOut = false;
    let settled = false;

    const killTree = (): void => {
      if (child.pid === undefined || child.exitCode !== null) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer =
      options.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            killTree();
          }, options.timeoutMs)
        : undefined;
    const onAbort = (): void => killTree();
    options.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout!.on('data', (chunk: Buffer) => {
      if (outBytes + chunk.length > maxBytes) truncated = true;
      else out.push(chunk);
      outBytes += chunk.length;
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      if (errBytes + chunk.length > maxBytes) truncated = true;
      else err.push(chunk);
      errBytes += chunk.length;
    });
    if (options.input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
    const finish = (): void => {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      finish();
      reject(new SpawnError(argv, error.code, `cannot run ${argv[0]}: ${error.message}`));
    });
    child.on('close', (exitCode, signal) => {
      if (settled) return;
      settled = true;
      finish();
      resolve({
        exitCode,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
        truncated,
      });
    });
  });
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

/**
 * Where a safe switch runs: this machine (argv spawned directly) or a host over ssh (one command line, built with
 * shellJoin, the one quoting function). Every ssh call opens a fresh connection: ControlMaster off and no control
 * path, so a half-dead multiplexed connection can neither carry nor fake a confirmation.
 */
import { runProcess, type RunResult } from '../exec/process';
import { shellJoin } from '../exec/quote';
import type { Elevation } from '../deploy/elevation';

export type Target =
  | { kind: 'local' }
  | {
      kind: 'ssh';
      /** `host` or `user@host` (as for nixos-rebuild --target-host). */
      host: string;
      port?: number;
      /** Extra ssh arguments (`-i key`, `-o UserKnownHostsFile=...`), passed as they are, before the host. */
      sshArgs?: readonly string[];
      /** The ssh executable (default "ssh"). */
      ssh?: string;
    };

export interface TargetRunOptions {
  /** Environment for the command on the target (validated names; over ssh passed with `env NAME=value`). */
  env?: Readonly<Record<string, string>>;
  /** Privilege elevation prefix on the target, e.g. ["sudo", "-n"]; [] when already root. */
  elevate?: readonly string[];
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Cap on captured bytes per stream (runProcess's default when absent); `truncated` tells when it was hit. */
  maxOutputBytes?: number;
  /** Environment of the local process (ssh, or the command itself for a local target); default process.env. */
  localEnv?: NodeJS.ProcessEnv;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A short, stable key for locks and messages. */
export function targetKey(target: Target): string {
  return target.kind === 'local' ? 'localhost' : `${target.host}:${target.port ?? 22}`;
}

export function describeTarget(target: Target): string {
  return target.kind === 'local' ? 'this machine' : target.host;
}

/** Rejects host names ssh would read as options, or that hold whitespace or control characters. */
export function validateHost(host: string): string | null {
  if (host.trim() === '') return 'the target host is empty';
  if (host.startsWith('-')) return `the target host "${host}" starts with "-"`;
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(host)) return `the target host "${host}" contains whitespace or control characters`;
  return null;
}

/**
 * Elevation for privileged steps on a remote target: none when logging in as root (`root@host`) or when the
 * setting is `none`; else the program in non-interactive mode (`sudo -n --`, `doas -n --`), since nobody can type
 * a password into `ssh -T`: a password prompt fails at once with the program's message instead of hanging.
 */
export function remoteElevation(host: string, elevation: Elevation): string[] {
  if (elevation === 'none' || host.trim().startsWith('root@')) return [];
  if (elevation === 'run0') return ['run0', '--'];
  return [elevation, '-n', '--'];
}

/** The ssh options every safe-switch connection uses. */
export function freshConnectionOptions(): string[] {
  return [
    '-o',
    'ControlMaster=no',
    '-o',
    'ControlPath=none',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=10',
    '-o',
    'ServerAliveInterval=5',
    '-o',
    'ServerAliveCountMax=2',
  ];
}

/** The command as it runs on the target: `env NAME=value ... <elevate> argv`. */
export function remoteArgv(argv: readonly string[], options: TargetRunOptions = {}): string[] {
  const env = Object.entries(options.env ?? {});
  for (const [name] of env) {
    if (!ENV_NAME.test(name)) throw new Error(`invalid environment variable name: ${JSON.stringify(name)}`);
  }
  const prefix = env.length > 0 ? ['env', ...env.map(([k, v]) => `${k}=${v}`)] : [];
  return [...(options.elevate ?? []), ...prefix, ...argv];
}

/** The local argv that runs `argv` on the target. */
export function targetArgv(target: Target, argv: readonly string[], options: TargetRunOptions = {}): string[] {
  const inner = remoteArgv(argv, options);
  if (target.kind === 'local') return inner;
  const problem = validateHost(target.host);
  if (problem) throw new Error(problem);
  const port = target.port !== undefined ? ['-p', String(target.port)] : [];
  return [
    target.ssh ?? 'ssh',
    ...freshConnectionOptions(),
    ...port,
    ...(target.sshArgs ?? []),
    '-T',
    '--',
    target.host,
    shellJoin(inner),
  ];
}

export function runOnTarget(
  target: Target,
  argv: readonly string[],
  options: TargetRunOptions = {},
): Promise<RunResult> {
  return runProcess(targetArgv(target, argv, options), {
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    ...(options.maxOutputBytes !== undefined ? { maxOutputBytes: options.maxOutputBytes } : {}),
    ...(options.localEnv !== undefined ? { baseEnv: options.localEnv } : {}),
  });
}

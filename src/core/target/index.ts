/**
 * Where a command runs: this machine (argv spawned directly) or a host over ssh. The one module for it: diff,
 * safe switch, deploy and the fleet view run remote commands only through `runOnTarget`.
 *
 * Over ssh the remote login shell (bash, zsh, fish, tcsh, whatever the target user has) only ever sees the fixed
 * text `/bin/sh -s`. The command itself travels on stdin as one line, `exec <argv quoted for POSIX sh>`, read by
 * that /bin/sh: quoting is done for the one shell that reads it, never for a login shell we cannot know (fish reads
 * `\'` inside single quotes as an escape). No workspace or target value is ever part of the ssh command line.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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
      /**
       * Reuse one connection for the calls to this host (a ControlMaster socket in a private directory of this
       * process, kept 60 s after the last use). Default false: every call opens a fresh connection, so a
       * half-dead multiplexed connection can neither carry nor fake an answer (the safe switch relies on that).
       */
      reuse?: boolean;
    };

export interface TargetRunOptions {
  /** Environment for the command on the target (validated names; over ssh passed with `env NAME=value`). */
  env?: Readonly<Record<string, string>>;
  /** Privilege elevation prefix on the target, e.g. ["sudo", "-n", "--"]; [] when already root. */
  elevate?: readonly string[];
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Cap on captured bytes per stream (runProcess's default when absent); `truncated` tells when it was hit. */
  maxOutputBytes?: number;
  /** Environment of the local process (ssh, or the command itself for a local target); default process.env. */
  localEnv?: NodeJS.ProcessEnv;
}

/** A local process: its argv, and what it reads on stdin (the remote command, for ssh). */
export interface TargetInvocation {
  argv: string[];
  input?: string;
}

/** The only text an ssh call puts on the remote command line. */
export const REMOTE_SHELL_COMMAND = '/bin/sh -s';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A short, stable key for locks and messages. */
export function targetKey(target: Target): string {
  return target.kind === 'local' ? 'localhost' : `${target.host}:${target.port ?? 22}`;
}

export function describeTarget(target: Target): string {
  return target.kind === 'local' ? 'this machine' : target.host;
}

/**
 * Rejects host names ssh would read as options (`-oProxyCommand=...`), or that hold whitespace, control
 * characters or `${` (which VS Code would substitute in a task). Used for every host a command receives: safe
 * switch, diff, rebuild's --target-host / --build-host.
 */
export function validateHost(host: string): string | null {
  if (host.trim() === '') return 'the target host is empty';
  if (host.startsWith('-')) return `the target host "${host}" starts with "-"`;
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(host)) return `the target host "${host}" contains whitespace or control characters`;
  if (host.includes('${')) return `the target host "${host}" contains "\${"`;
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

/** ssh options of every call: no prompt (BatchMode), bounded connect time, dead connections noticed. */
const BASE_OPTIONS = [
  '-o',
  'BatchMode=yes',
  '-o',
  'ConnectTimeout=10',
  '-o',
  'ServerAliveInterval=5',
  '-o',
  'ServerAliveCountMax=2',
];

/** The ssh options of a fresh connection (no multiplexing at all). */
function freshConnectionOptions(): string[] {
  return ['-o', 'ControlMaster=no', '-o', 'ControlPath=none', ...BASE_OPTIONS];
}

let controlDir: string | null = null;

/** This process' private directory (0700) for ControlMaster sockets; created on first use. */
export function controlDirectory(): string {
  if (controlDir === null || !fs.existsSync(controlDir)) {
    controlDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-ssh-'));
    fs.chmodSync(controlDir, 0o700);
  }
  return controlDir;
}

/**
 * The ssh options of a reused connection: use the master socket when it is there, else connect directly.
 * `%C` is ssh's hash of (local host, remote host, port, user), so each destination gets its own socket.
 */
function sharedConnectionOptions(): string[] {
  return ['-o', `ControlPath=${path.join(controlDirectory(), '%C')}`, ...BASE_OPTIONS];
}

/**
 * NIX_SSHOPTS as ssh arguments: split at whitespace, no quoting, no expansion (what nixos-rebuild and
 * nix-copy-closure do with it). The variable comes from the user's environment, never from a workspace.
 */
export function sshOptsFromEnv(value: string | undefined): string[] {
  return (value ?? '').split(/\s+/).filter((w) => w !== '');
}

/** The command as it runs on the target: `<elevate> env NAME=value ... argv`. */
function remoteArgv(argv: readonly string[], options: TargetRunOptions = {}): string[] {
  if (argv.length === 0) throw new Error('empty command line');
  const env = Object.entries(options.env ?? {});
  for (const [name] of env) {
    if (!ENV_NAME.test(name)) throw new Error(`invalid environment variable name: ${JSON.stringify(name)}`);
  }
  const prefix = env.length > 0 ? ['env', ...env.map(([k, v]) => `${k}=${v}`)] : [];
  return [...(options.elevate ?? []), ...prefix, ...argv];
}

/** What /bin/sh on the target reads on stdin: one `exec` line, every word quoted for POSIX sh. */
function remoteScript(argv: readonly string[], options: TargetRunOptions = {}): string {
  return `exec ${shellJoin(remoteArgv(argv, options))}\n`;
}

/** ssh and its options, up to the destination. `master` is the ControlMaster value (ssh keeps the first one given). */
function sshPrefix(target: Extract<Target, { kind: 'ssh' }>, master: 'yes' | 'no' = 'no'): string[] {
  const problem = validateHost(target.host);
  if (problem) throw new Error(problem);
  const port = target.port !== undefined ? ['-p', String(target.port)] : [];
  const options = target.reuse
    ? ['-o', `ControlMaster=${master}`, ...sharedConnectionOptions()]
    : freshConnectionOptions();
  return [target.ssh ?? 'ssh', ...options, ...port, ...(target.sshArgs ?? [])];
}

/** The local process that runs `argv` on the target: argv itself locally; over ssh `ssh ... /bin/sh -s` + stdin. */
export function targetInvocation(
  target: Target,
  argv: readonly string[],
  options: TargetRunOptions = {},
): TargetInvocation {
  if (target.kind === 'local') return { argv: remoteArgv(argv, options) };
  return {
    argv: [...sshPrefix(target), '-T', '--', target.host, REMOTE_SHELL_COMMAND],
    input: remoteScript(argv, options),
  };
}

/**
 * The local argv of a command on this machine (a privileged step run in a terminal). Only for a local target:
 * a remote command needs its stdin, so it has no argv of its own.
 */
export function localArgv(target: Target, argv: readonly string[], options: TargetRunOptions = {}): string[] {
  if (target.kind !== 'local') throw new Error('a remote command runs with runOnTarget, not as a local argv');
  return remoteArgv(argv, options);
}

/** Starts (once) the shared connection to a reusing target; failures are left to the call itself. */
async function ensureMaster(target: Extract<Target, { kind: 'ssh' }>, options: TargetRunOptions): Promise<void> {
  const prefix = sshPrefix(target);
  const check = await runProcess([...prefix, '-O', 'check', '--', target.host], {
    timeoutMs: 5_000,
    ...(options.localEnv !== undefined ? { baseEnv: options.localEnv } : {}),
  });
  if (check.exitCode === 0) return;
  // -f -N: the master goes to the background once logged in; no stdio is kept, so no caller waits on its pipes
  await new Promise<void>((resolve) => {
    const master = sshPrefix(target, 'yes');
    const child = spawn(master[0]!, [...master.slice(1), '-o', 'ControlPersist=60', '-f', '-N', '--', target.host], {
      stdio: 'ignore',
      env: options.localEnv ?? process.env,
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
    child.on('error', () => resolve());
    child.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Closes this process' shared connections (extension deactivation, tests). */
export async function closeSharedConnections(target: Target): Promise<void> {
  if (target.kind !== 'ssh' || !target.reuse || controlDir === null) return;
  const prefix = sshPrefix(target);
  await runProcess([...prefix, '-O', 'exit', '--', target.host], { timeoutMs: 5_000 });
}

/** Runs `argv` on the target; resolves whatever the exit code (255 over ssh: the connection failed). */
export async function runOnTarget(
  target: Target,
  argv: readonly string[],
  options: TargetRunOptions = {},
): Promise<RunResult> {
  const invocation = targetInvocation(target, argv, options);
  if (target.kind === 'ssh' && target.reuse) await ensureMaster(target, options);
  return runProcess(invocation.argv, {
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    ...(invocation.input !== undefined ? { input: invocation.input } : {}),
    ...(options.maxOutputBytes !== undefined ? { maxOutputBytes: options.maxOutputBytes } : {}),
    ...(options.localEnv !== undefined ? { baseEnv: options.localEnv } : {}),
  });
}

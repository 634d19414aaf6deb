/**
 * Real machines for the tests: Debian with systemd as PID 1 under systemd-nspawn, each in a network namespace of its
 * own, reached over ssh as root at 10.99.IDX.2 (see machines/README.md). The root file system and the ssh key come
 * from scripts/install-test-deps.sh (cached in .vscode-test/machines); the shell scripts in machines/ do the booting,
 * this file gives the tests a typed handle and makes sure every machine is stopped again, even when a test fails or
 * the process exits early.
 *
 * IDX ranges, so that suites running side by side never share a namespace or an address:
 *   1-49   fleet tests (remote listing, deploy, identity guard, safe switch faults)
 *   50-99  transition tests
 *   100+   benchmarks
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = up;
  }
  return dir;
}

export const PROJECT_ROOT = projectRoot();
/** The scripts, from the source tree (they are not compiled). */
export const MACHINE_SCRIPTS = path.join(PROJECT_ROOT, 'test', 'lib', 'machines');
export const MACHINE_CACHE = path.join(
  process.env.NIXGEN_TEST_CACHE ?? path.join(PROJECT_ROOT, '.vscode-test'),
  'machines',
);
export const MACHINE_ROOTFS = path.join(MACHINE_CACHE, 'rootfs');
export const MACHINE_KEY = path.join(MACHINE_CACHE, 'id_ed25519');

export interface MachineSpec {
  /** The machine's name: its host name, network namespace and veth suffix (1-11 of [a-z0-9-]). */
  name: string;
  /** 1..250: the machine is 10.99.IDX.2, this side 10.99.IDX.1. */
  idx: number;
  /** Host directories shown at the same path in the machine (`--bind=DIR`) or `SRC:DEST`. */
  binds?: string[];
  /** More systemd-nspawn options. */
  nspawnArgs?: string[];
}

export interface MachineRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export interface Machine {
  name: string;
  idx: number;
  /** 10.99.IDX.2 */
  address: string;
  /** root@10.99.IDX.2 */
  destination: string;
  /** ssh options before the destination: the test key, no user config, no host key bookkeeping. */
  sshArgs: string[];
  /** The same options as one string, for NIX_SSHOPTS. */
  sshOpts: string;
  /** Runs a POSIX sh script on the machine (sent on stdin to `sh -s`, ARGS after `--`), over a fresh ssh connection. */
  run(script: string, args?: readonly string[], timeoutMs?: number): Promise<MachineRun>;
  /** True when root can log in over ssh within `timeoutMs`. */
  reachable(timeoutMs?: number): Promise<boolean>;
  /** What systemd-nspawn printed (the machine's console). */
  consoleLog(): string;
  /** Powers the machine off and removes its namespace; idempotent. */
  stop(): Promise<void>;
}

/** Why machines cannot be booted here, or null when they can. */
export function machinesUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'booting test machines needs root';
  if (spawnSync('sh', ['-c', 'command -v systemd-nspawn']).status !== 0) {
    return 'systemd-nspawn is not installed: run scripts/install-test-deps.sh';
  }
  if (!fs.existsSync(path.join(MACHINE_ROOTFS, 'usr', 'lib', 'systemd', 'systemd')) || !fs.existsSync(MACHINE_KEY)) {
    return `no machine root file system in ${MACHINE_CACHE}: run scripts/install-test-deps.sh`;
  }
  return null;
}

function stateDir(name: string): string {
  return path.join(process.env.TMPDIR ?? '/tmp', `nixgen-machine-${name}`);
}

const live = new Set<string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // mocha may exit before after() hooks of an interrupted run: never leave a machine or a namespace behind
  process.on('exit', () => {
    for (const name of live) spawnSync('bash', [path.join(MACHINE_SCRIPTS, 'down.sh'), name], { stdio: 'ignore' });
  });
}

function sshArgsFor(): string[] {
  return [
    '-F',
    '/dev/null',
    '-i',
    MACHINE_KEY,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
  ];
}

function runLocal(argv: string[], input: string, timeoutMs: number): Promise<MachineRun> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ exitCode: null, stdout, stderr: stderr + e.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ exitCode: code, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

function handle(spec: MachineSpec): Machine {
  const address = `10.99.${spec.idx}.2`;
  const destination = `root@${address}`;
  const sshArgs = sshArgsFor();
  const ssh = (extra: string[], script: string, args: readonly string[], timeoutMs: number): Promise<MachineRun> =>
    runLocal(
      ['ssh', ...sshArgs, ...extra, '-T', destination, 'sh', '-s', '--', ...args.map(shellWord)],
      script,
      timeoutMs,
    );
  let stopped = false;
  return {
    name: spec.name,
    idx: spec.idx,
    address,
    destination,
    sshArgs,
    sshOpts: sshArgs.join(' '),
    run: (script, args = [], timeoutMs = 60_000) => ssh(['-o', 'BatchMode=yes'], script, args, timeoutMs),
    reachable: async (timeoutMs = 3000) => {
      const r = await ssh(
        ['-o', 'BatchMode=yes', '-o', `ConnectTimeout=${Math.max(1, Math.round(timeoutMs / 1000))}`],
        'echo ok',
        [],
        timeoutMs + 2000,
      );
      return r.exitCode === 0 && r.stdout.trim() === 'ok';
    },
    consoleLog: () => {
      try {
        return fs.readFileSync(path.join(stateDir(spec.name), 'console.log'), 'utf8');
      } catch {
        return '';
      }
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await runLocal(['bash', path.join(MACHINE_SCRIPTS, 'down.sh'), spec.name], '', 30_000);
      live.delete(spec.name);
    },
  };
}

/** Quotes one word for the remote login shell (ssh joins its arguments with spaces). */
function shellWord(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Boots the machines side by side and resolves once each accepts ssh. On any failure, the ones that did boot are
 * stopped again and the error carries the console of the one that failed.
 */
export async function bootMachines(specs: readonly MachineSpec[]): Promise<Machine[]> {
  const why = machinesUnavailable();
  if (why) throw new Error(why);
  installExitHook();
  const results = await Promise.all(
    specs.map(async (spec) => {
      // a run that crashed may have left this name behind
      await runLocal(['bash', path.join(MACHINE_SCRIPTS, 'down.sh'), spec.name], '', 30_000);
      live.add(spec.name);
      const binds = (spec.binds ?? []).map((b) => `--bind=${b}`);
      const r = await runLocal(
        [
          'bash',
          path.join(MACHINE_SCRIPTS, 'up.sh'),
          spec.name,
          String(spec.idx),
          MACHINE_ROOTFS,
          MACHINE_KEY,
          ...binds,
          ...(spec.nspawnArgs ?? []),
        ],
        '',
        60_000,
      );
      return { spec, r, machine: handle(spec) };
    }),
  );
  const failed = results.filter((x) => x.r.exitCode !== 0);
  if (failed.length > 0) {
    const detail = failed
      .map((x) => `${x.spec.name}: ${x.r.stderr.trim() || x.r.stdout.trim()}\n${x.machine.consoleLog().slice(-2000)}`)
      .join('\n');
    await stopMachines(results.map((x) => x.machine));
    throw new Error(`could not boot ${failed.map((x) => x.spec.name).join(', ')}:\n${detail}`);
  }
  return results.map((x) => x.machine);
}

export async function stopMachines(machines: readonly Machine[]): Promise<void> {
  await Promise.all(machines.map((m) => m.stop()));
}

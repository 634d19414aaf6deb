/**
 * A real OpenSSH server on 127.0.0.1 for the tests: Debian's /usr/sbin/sshd on a free port, with a temporary host
 * key and a temporary client key in its authorized_keys, logging in as the user running the tests. Everything
 * lives in one temp directory, removed by stop().
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TestSshd {
  host: string;
  port: number;
  /** `user@127.0.0.1` */
  destination: string;
  user: string;
  /** ssh arguments a client needs: key, known_hosts, no user config. Pass them before the destination. */
  clientArgs: string[];
  /** sshd's process (for fault injection). */
  process: ChildProcess;
  dir: string;
  /** What sshd wrote on stderr so far. */
  log(): string;
  /** Stops the listener (open sessions survive, as with a real sshd). Idempotent. */
  stopListener(): Promise<void>;
  /** Starts the listener again on the same port after stopListener(). */
  restartListener(): Promise<void>;
  /** Stops sshd and removes every file. Idempotent. */
  stop(): Promise<void>;
}

export const SSHD = process.env.NIXGEN_TEST_SSHD ?? '/usr/sbin/sshd';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function keygen(file: string): void {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nixgen-test', '-f', file], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr || r.error?.message}`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('data', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** The user whose login shell is fish (created by scripts/install-test-deps.sh). */
export const FISH_USER = 'nixgen-fish';

export interface SshdOptions {
  /** Log in as this user instead of the one running the tests (its key is the same: one authorized_keys file). */
  user?: string;
}

/** Starts sshd; rejects (with sshd's log) when it does not accept connections within 10 s. */
export async function startSshd(options: SshdOptions = {}): Promise<TestSshd> {
  if (!fs.existsSync(SSHD)) throw new Error(`${SSHD} not found: apt-get install openssh-server`);
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-sshd-')));
  const user = options.user ?? os.userInfo().username;
  const hostKey = path.join(dir, 'host_ed25519');
  const clientKey = path.join(dir, 'client_ed25519');
  keygen(hostKey);
  keygen(clientKey);
  fs.copyFileSync(`${clientKey}.pub`, path.join(dir, 'authorized_keys'));
  if (options.user !== undefined) {
    // sshd reads authorized_keys with the user's own rights
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(path.join(dir, 'authorized_keys'), 0o644);
  }
  const port = await freePort();
  fs.writeFileSync(
    path.join(dir, 'known_hosts'),
    `[127.0.0.1]:${port} ${fs.readFileSync(`${hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`,
  );
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    'StrictModes no',
    'UsePAM no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'AllowTcpForwarding no',
    'X11Forwarding no',
    'PrintMotd no',
    // a client may point the target's nix at a fixture's private store with `-o SetEnv=NIX_STORE_DIR=...`
    'AcceptEnv NIX_STORE_DIR NIX_STATE_DIR NIX_LOG_DIR NIX_CONF_DIR NIXOS_FIXTURE_*',
    'MaxStartups 200',
    'MaxSessions 50',
    'LogLevel ERROR',
  ];
  fs.writeFileSync(path.join(dir, 'sshd_config'), `${config.join('\n')}\n`);
  // sshd insists on its privilege-separation directory
  if (process.getuid?.() === 0) fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  let stderr = '';
  let child: ChildProcess;
  const launch = async (): Promise<void> => {
    child = spawn(SSHD, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      if (child.exitCode !== null) break;
      if (await canConnect(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    throw new Error(`sshd did not start on 127.0.0.1:${port}: ${stderr.trim() || `exit ${child.exitCode}`}`);
  };
  const halt = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  await launch();
  let stopped = false;
  return {
    host: '127.0.0.1',
    port,
    destination: `${user}@127.0.0.1`,
    user,
    clientArgs: [
      '-F',
      '/dev/null',
      '-i',
      clientKey,
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      `UserKnownHostsFile=${path.join(dir, 'known_hosts')}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'LogLevel=ERROR',
    ],
    get process() {
      return child;
    },
    dir,
    log: () => stderr,
    stopListener: halt,
    restartListener: launch,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await halt();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

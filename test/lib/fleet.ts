/**
 * NixOS-shaped systems for test machines (test/fixtures/fleet/fleet.nix), built with real Nix into this machine's
 * /nix/store, and a system profile per machine. A machine booted with `fleetBinds(profileDir)` sees /nix and has its
 * own /nix/var/nix/profiles; `installFleetProfile` then does what NixOS' stage 2 does at boot: /run/current-system and
 * /run/booted-system point at the profile's system, /etc/hostname holds its host name.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT, type Machine } from './machines';

export const FLEET_NIX = path.join(PROJECT_ROOT, 'test', 'fixtures', 'fleet', 'fleet.nix');
/** Nix as root without build users, sandbox or substituters (this machine has no nixbld group and no network). */
export const FLEET_NIX_CONFIG = 'build-users-group =\nsandbox = false\nsubstituters =';

export interface FleetSystemSpec {
  host: string;
  /** A number that tells systems apart (written to etc/fixture-generation). */
  n: number;
  release?: '24.05' | '24.11';
  /** system.configurationRevision: null (not recorded), "dirty", or a 40-hex commit. */
  rev?: string | null;
  /** The address host0 carries once activated, e.g. "10.99.3.2/24"; null: the system declares none. */
  address: string | null;
  /** services.openssh.enable (default true). */
  sshd?: boolean;
  sshPort?: number;
}

function nixEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NIX_CONFIG: FLEET_NIX_CONFIG };
  for (const k of ['NIX_REMOTE', 'NIX_STORE_DIR', 'NIX_STATE_DIR', 'NIX_LOG_DIR', 'NIX_CONF_DIR']) delete env[k];
  return env;
}

/** Builds the systems (one nix-build) and returns their store paths, in the order given. */
export function buildFleetSystems(specs: readonly FleetSystemSpec[]): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-fleet-spec-'));
  try {
    const file = path.join(dir, 'spec.json');
    const full = specs.map((s) => ({
      host: s.host,
      n: s.n,
      release: s.release ?? '24.11',
      rev: s.rev ?? null,
      address: s.address,
      sshd: s.sshd ?? true,
      sshPort: s.sshPort ?? 22,
    }));
    fs.writeFileSync(file, JSON.stringify(full));
    const r = spawnSync(
      'nix-build',
      [FLEET_NIX, '--arg', 'specFile', file, '-A', 'toplevels', '--no-out-link', '--quiet'],
      { encoding: 'utf8', env: nixEnv(), timeout: 300_000 },
    );
    const paths = r.stdout.trim().split('\n').filter(Boolean);
    if (r.status !== 0 || paths.length !== specs.length) {
      throw new Error(`nix-build ${FLEET_NIX} failed (rc=${r.status}): ${r.stderr}`);
    }
    return paths;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A profiles directory holding `system` with one generation per store path (generation i+1 = paths[i]), the
 * links dated a day apart ending an hour ago, the last one current. Returns the directory (bind it at
 * /nix/var/nix/profiles).
 */
export function makeFleetProfile(dir: string, paths: readonly string[]): string {
  fs.mkdirSync(dir, { recursive: true });
  const profile = path.join(dir, 'system');
  const now = Date.now();
  paths.forEach((p, i) => {
    const r = spawnSync('nix-env', ['--profile', profile, '--set', p], { encoding: 'utf8', env: nixEnv() });
    if (r.status !== 0) throw new Error(`nix-env --profile ${profile} --set ${p} failed: ${r.stderr}`);
    const when = new Date(now - 3600_000 - (paths.length - 1 - i) * 86400_000);
    spawnSync('touch', ['-h', '-d', when.toISOString(), `${profile}-${i + 1}-link`]);
  });
  return dir;
}

/** nspawn binds: this machine's /nix, and `profileDir` as the machine's /nix/var/nix/profiles. */
export function fleetBinds(profileDir: string): string[] {
  return ['/nix', `${profileDir}:/nix/var/nix/profiles`];
}

/** Stage 2 of a NixOS boot, for a booted test machine: run links and host name from its system profile. */
export async function installFleetProfile(machine: Machine): Promise<string> {
  const r = await machine.run(
    `set -e
sys=$(readlink -f /nix/var/nix/profiles/system)
ln -sfn "$sys" /run/current-system
ln -sfn "$sys" /run/booted-system
cp "$sys/etc/hostname" /etc/hostname
printf '%s' "$sys"`,
  );
  if (r.exitCode !== 0) throw new Error(`preparing ${machine.name} failed: ${r.stderr}`);
  return r.stdout.trim();
}

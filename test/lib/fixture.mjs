// The one wrapper around test/fixtures/nix-fixture/make-fixture.sh, the builder of real Nix profiles of fake NixOS
// generations (contract: `make-fixture.sh OUTDIR N` prints the profile path as its last stdout line and writes
// OUTDIR/env.sh, OUTDIR/manifest.tsv and OUTDIR/run/{current-system,booted-system}). The e2e, the VS Code runner
// and the demo build with `buildFixture`, the benches keep theirs with `cachedFixture`, and the mocha suites
// (test/fixtures/fixture.ts, which only adds types and a per-process cache) run `builderArgv` with the knobs of
// `fixtureKnobs` and read the result with `readFixture`: one builder call, one reader, one clean environment.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, registerCleanupPath } from './codeserver.mjs';

export const FIXTURE_BUILDER = path.join(ROOT, 'test', 'fixtures', 'nix-fixture', 'make-fixture.sh');

/** `base` without any variable that would silently send nix commands to another store or daemon. */
export function cleanEnv(base = process.env) {
  const env = {};
  for (const [k, v] of Object.entries(base)) {
    if (/^NIX_(STORE_DIR|STATE_DIR|LOG_DIR|CONF_DIR|CONFIG|REMOTE|STORE|PATH|PROFILES|USER_CONF_FILES)$/.test(k))
      continue;
    if (k.startsWith('NIXOS_FIXTURE_')) continue;
    env[k] = v;
  }
  return env;
}

/**
 * make-fixture.sh's variables for the states of a fixture: `hm` home-manager generations, the `current` (boot
 * default), `activated` and `booted` generations, the `missing` one (0: none); absent options are left to the
 * builder's defaults.
 */
export function fixtureKnobs({ hm, current, activated, booted, missing } = {}) {
  const knobs = { FIXTURE_STORE: 'private' };
  const set = (name, v) => {
    if (v !== undefined && v !== null) knobs[name] = String(v);
  };
  set('FIXTURE_HM', hm);
  set('FIXTURE_CURRENT', current);
  set('FIXTURE_ACTIVATED', activated);
  set('FIXTURE_BOOTED', booted);
  set('FIXTURE_MISSING', missing);
  return knobs;
}

/** The builder's argv for `n` generations in `dir` ($NIXGEN_FIXTURE_BUILDER may name another with its contract). */
export function builderArgv(dir, n) {
  const builder = process.env.NIXGEN_FIXTURE_BUILDER || FIXTURE_BUILDER;
  if (!fs.existsSync(builder)) throw new Error(`fixture builder ${builder} not found`);
  return ['bash', builder, dir, String(n)];
}

/** Remove a fixture dir (Nix store dirs are read-only, so make them writable first). */
export function removeFixture(dir) {
  if (!dir || !fs.existsSync(dir)) return;
  spawnSync('chmod', ['-R', 'u+w', dir]);
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Build a fixture with N generations in `dir` (default: a fresh temp dir, registered for cleanup); `env` adds
 * builder variables (fixtureKnobs, FIXTURE_REVISIONS ...) to the clean environment.
 */
export function buildFixture(n, { dir, env = {} } = {}) {
  if (!dir) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-fixture-'));
    registerCleanupPath(dir);
  }
  const argv = builderArgv(dir, n);
  const t0 = Date.now();
  const r = spawnSync(argv[0], argv.slice(1), {
    encoding: 'utf8',
    env: { ...cleanEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300000,
  });
  if (r.status !== 0) {
    throw new Error(
      `${argv[1]} ${dir} ${n} failed (rc=${r.status}${r.signal ? ', ' + r.signal : ''}):\n${r.stderr}${r.stdout}`,
    );
  }
  const profile = r.stdout.trim().split('\n').pop();
  const fx = readFixture(dir, profile);
  fx.buildMs = Date.now() - t0;
  return fx;
}

/**
 * A fixture kept between runs in `dir` (the benches' cache): built there when it holds no manifest yet (a
 * half-built one is removed first), read back otherwise. `log` hears about a build, which can take minutes.
 */
export function cachedFixture(dir, n, env = {}, log = () => {}) {
  if (fs.existsSync(path.join(dir, 'manifest.tsv'))) return { ...readFixture(dir), built: false, seconds: 0 };
  removeFixture(dir);
  fs.mkdirSync(dir, { recursive: true });
  log(`building a ${n}-generation fixture in ${dir} ...`);
  const fx = buildFixture(n, { dir, env });
  log(` ${(fx.buildMs / 1000).toFixed(1)} s\n`);
  return { ...fx, built: true, seconds: fx.buildMs / 1000 };
}

/**
 * make-fixture.sh knobs that give the three states to three generations, as after `nixos-rebuild boot` on a machine
 * that also ran a `test` without rebooting: the newest is the boot default, the one before it is activated, and the
 * booted one is the first of the newest release, which has the release's other kernel (fixture.nix: each release
 * has two kernels, one per half of its generations), so the view says a reboot is needed. Needs 9 generations.
 */
export function fixtureStates(n) {
  if (n < 9) return {};
  const booted = Math.floor((2 * n + 2) / 3) + 1;
  return { FIXTURE_CURRENT: String(n), FIXTURE_ACTIVATED: String(n - 1), FIXTURE_BOOTED: String(booted) };
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Fixture Admin',
  GIT_AUTHOR_EMAIL: 'admin@nixbox.invalid',
  GIT_COMMITTER_NAME: 'Fixture Admin',
  GIT_COMMITTER_EMAIL: 'admin@nixbox.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

/**
 * A configuration repository like the one a NixOS machine is deployed from: `template` (flake.nix +
 * configuration.nix) copied to `dir`, with `n` commits, one per generation (each changes configuration.nix a little).
 * Writes the commits, oldest first, one per line, to `revisionsFile` (make-fixture.sh's FIXTURE_REVISIONS), so that
 * the generations record these commits as their configurationRevision.
 */
export function makeConfigRepo(template, dir, n, revisionsFile) {
  fs.cpSync(template, dir, { recursive: true });
  const git = (...args) => {
    const r = spawnSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, ...GIT_ENV } });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  git('init', '-q', '-b', 'main');
  const config = path.join(dir, 'configuration.nix');
  const original = fs.readFileSync(config, 'utf8');
  const commits = [];
  for (let i = 1; i <= n; i++) {
    // the change of generation i, as a comment: the configuration itself stays what the workspace template says
    const note = `  # change ${i}: ${i === 1 ? 'first install' : `tuning, round ${i}`}\n`;
    fs.writeFileSync(config, original.replace(/\n}\s*$/, `\n${note}}\n`));
    git('add', '-A');
    git('commit', '-q', '-m', i === 1 ? 'First install' : `Generation ${i}: tuning, round ${i}`);
    commits.push(git('rev-parse', 'HEAD'));
  }
  fs.writeFileSync(revisionsFile, commits.join('\n') + '\n');
  return commits;
}

/**
 * A small faithful NixOS for the demo and the e2e: the configuration repository (`workspace`, a git repository whose
 * commits are the generations' configurationRevision) and the fixture built from it (n generations, the three
 * states apart, another kernel booted), in `dir` (default: a fresh temp dir). Activation by the fixture's
 * switch-to-configuration moves run/current-system when NIXOS_FIXTURE_RUN_DIR (in the returned `activationEnv`) is
 * passed on; `rebuildCommand` is the nixos-rebuild stand-in that builds new generations from the workspace.
 */
export function buildMachineFixture(n, { dir, env = {} } = {}) {
  if (!dir) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-machine-'));
    registerCleanupPath(dir);
  }
  fs.mkdirSync(dir, { recursive: true });
  const workspace = path.join(dir, 'nixos-config');
  const revisions = path.join(dir, 'revisions.txt');
  makeConfigRepo(path.join(ROOT, 'test', 'vscode', 'workspace'), workspace, n, revisions);
  const fx = buildFixture(n, { dir, env: { ...fixtureStates(n), ...env, FIXTURE_REVISIONS: revisions } });
  return withMachine(fx);
}

/** The machine fixture's extras (see buildMachineFixture) for a fixture read back from `dir`. */
export function withMachine(fx) {
  return {
    ...fx,
    workspace: path.join(fx.dir, 'nixos-config'),
    activationEnv: { NIXOS_FIXTURE_RUN_DIR: fx.runDir },
    rebuildCommand: path.join(ROOT, 'test', 'fixtures', 'nix-fixture', 'nixos-rebuild'),
  };
}

/** Read an already built fixture dir (profile path from env.sh when not given). */
export function readFixture(dir, profile) {
  dir = path.resolve(dir);
  const env = readEnvSh(path.join(dir, 'env.sh'));
  profile = profile || env.NIXOS_FIXTURE_PROFILE;
  if (!profile || !fs.existsSync(path.dirname(profile))) {
    throw new Error(`no profile found for the fixture in ${dir} (builder output/env.sh)`);
  }
  const runDir = path.join(dir, 'run');
  for (const l of ['current-system', 'booted-system']) {
    // the link, not its target: a fixture may activate a generation whose store path it deleted
    if (!fs.lstatSync(path.join(runDir, l), { throwIfNoEntry: false })) {
      throw new Error(`fixture has no ${path.join(runDir, l)}`);
    }
  }
  // with FIXTURE_HM: the home-manager profile and its manifest (hm-manifest.tsv)
  const hmProfile = path.join(dir, 'home', '.local', 'state', 'nix', 'profiles', 'home-manager');
  const hmFile = path.join(dir, 'hm-manifest.tsv');
  const hm = fs.existsSync(hmFile) ? { hmProfile, hmManifest: readManifest(hmFile) } : {};
  return { dir, profile, runDir, env, manifest: readManifest(path.join(dir, 'manifest.tsv')), ...hm };
}

/**
 * manifest.tsv as objects keyed by its header (generation, created_utc, release, label_style, configuration_revision,
 * specialisation, missing, toplevel, ... whatever columns the builder writes), plus derived fields:
 * `n` (number), `isMissing` (boolean), `version` (the NixOS version in the toplevel's store name, e.g.
 * 24.11.20250101.abcdef0, or null).
 */
export function readManifest(file) {
  if (!fs.existsSync(file)) throw new Error(`fixture manifest ${file} not found`);
  const [header, ...lines] = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const cols = header.split('\t');
  return lines.map((line) => {
    const cells = line.split('\t');
    const row = Object.fromEntries(cols.map((c, i) => [c, cells[i] ?? '']));
    const m = /(\d{2}\.\d{2}(?:pre)?\.\d{8}\.[0-9a-f]{7,})/.exec(path.basename(row.toplevel || ''));
    return { ...row, n: Number(row.generation), isMissing: row.missing === 'yes', version: m ? m[1] : null };
  });
}

/**
 * The variables env.sh exports (NIX_STORE_DIR, NIX_STATE_DIR, NIX_CONFIG, ... that point Nix at the fixture's
 * private store), found by sourcing it in bash and comparing with a clean environment.
 */
export function readEnvSh(file) {
  if (!fs.existsSync(file)) throw new Error(`fixture env file ${file} not found`);
  const dump = (script) => {
    const r = spawnSync('bash', ['-c', script, 'env-sh', file], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    if (r.status !== 0) throw new Error(`sourcing ${file} failed: ${r.stderr}`);
    return Object.fromEntries(
      r.stdout
        .split('\0')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
  };
  const before = dump('env -0');
  const after = dump('. "$1" >/dev/null && env -0');
  const out = {};
  for (const [k, v] of Object.entries(after)) if (before[k] !== v && k !== '_' && k !== 'SHLVL') out[k] = v;
  return out;
}

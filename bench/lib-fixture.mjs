// Bench helpers: real-Nix fixture profiles (test/fixtures/nix-fixture/make-fixture.sh), cached between runs,
// fresh esbuild bundles of the CLI and the generations core, and small statistics.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILDER = path.join(ROOT, 'test', 'fixtures', 'nix-fixture', 'make-fixture.sh');

/** Where fixtures are kept between bench runs ($NIXGEN_BENCH_CACHE, default <tmp>/nixgen-bench-fixtures). */
export const CACHE = process.env.NIXGEN_BENCH_CACHE || path.join(os.tmpdir(), 'nixgen-bench-fixtures');

/** The caller's environment without anything that would send nix to another store. */
export function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^NIX_(STORE_DIR|STATE_DIR|LOG_DIR|CONF_DIR|CONFIG|REMOTE|STORE)$/.test(k) || k.startsWith('NIXOS_FIXTURE_'))
      continue;
    env[k] = v;
  }
  return env;
}

/**
 * An environment for timing Node processes: without NODE_EXTRA_CA_CERTS (some machines set it for a proxy; every
 * Node process then parses a CA bundle before its first line, 30-60 ms here) and NODE_OPTIONS.
 */
export function nodeTimingEnv(env) {
  const out = { ...env };
  delete out.NODE_EXTRA_CA_CERTS;
  delete out.NODE_OPTIONS;
  return out;
}

/** The CLI exactly as shipped: scripts/build.mjs's dist/cli.js (built now), with its per-command bundles. */
export function shippedCli() {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/build.mjs failed: ${r.stderr}`);
  return path.join(ROOT, 'dist', 'cli.js');
}

/** Reads `export NAME='value' ...` assignments from a fixture's env.sh. */
function readEnvSh(file) {
  const text = fs.readFileSync(file, 'utf8');
  const vars = {};
  for (const m of text.matchAll(/([A-Z_]+)='((?:[^']|'\\'')*)'/g)) vars[m[1]] = m[2].replace(/'\\''/g, "'");
  return vars;
}

/**
 * A fixture with `n` real NixOS generations: built once into CACHE/n<N> (minutes for 1,000 on a busy machine),
 * reused afterwards. Returns { dir, profile, runDir, env, built, seconds }.
 */
export function fixture(n, log = (s) => process.stderr.write(s)) {
  const dir = path.join(CACHE, `n${n}`);
  let built = false;
  let seconds = 0;
  if (!fs.existsSync(path.join(dir, 'manifest.tsv'))) {
    if (fs.existsSync(dir)) {
      spawnSync('chmod', ['-R', 'u+w', dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    fs.mkdirSync(CACHE, { recursive: true });
    log(`building a ${n}-generation fixture in ${dir} ...`);
    const t0 = process.hrtime.bigint();
    const r = spawnSync('bash', [BUILDER, dir, String(n)], {
      env: { ...cleanEnv(), FIXTURE_ACTIVATED: String(n - 1), FIXTURE_BOOTED: String(Math.max(1, Math.floor(n / 2))) },
      encoding: 'utf8',
    });
    seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`make-fixture.sh ${n} failed: ${r.stderr}`);
    log(` ${seconds.toFixed(1)} s\n`);
    built = true;
  }
  const vars = readEnvSh(path.join(dir, 'env.sh'));
  const profile = vars.NIXOS_FIXTURE_PROFILE;
  delete vars.NIXOS_FIXTURE_PROFILE;
  return { dir, profile, runDir: path.join(dir, 'run'), env: { ...cleanEnv(), ...vars, TZ: 'UTC' }, built, seconds };
}

const bundleDirs = [];
process.on('exit', () => {
  for (const dir of bundleDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Bundles an entry point of this project (current sources, not a possibly stale dist/) into a temp file,
 * removed when the process exits.
 */
export async function bundle(entry, outName) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-bench-bundle-'));
  bundleDirs.push(dir);
  const out = path.join(dir, outName);
  await esbuild.build({
    entryPoints: [path.join(ROOT, entry)],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    logLevel: 'warning',
    external: ['vscode'],
  });
  return out;
}

/** Wall time of one process run, in ms; throws when it fails. */
export function timeProcess(argv, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function quantile(values, q) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

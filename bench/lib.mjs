// Bench helpers: real-Nix fixture profiles (test/lib/fixture.mjs, the one wrapper of make-fixture.sh), cached between runs,
// fresh esbuild bundles of the CLI and the generations core, and small statistics.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { cachedFixture, cleanEnv, fixtureKnobs } from '../test/lib/fixture.mjs';

export { cleanEnv };

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where fixtures are kept between bench runs ($NIXGEN_BENCH_CACHE, default <tmp>/nixgen-bench-fixtures). */
export const CACHE = process.env.NIXGEN_BENCH_CACHE || path.join(os.tmpdir(), 'nixgen-bench-fixtures');

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

/**
 * A fixture with `n` real NixOS generations (test/lib/fixture.mjs): built once into CACHE/n<N> (minutes for 1,000
 * on a busy machine), reused afterwards. Returns { dir, profile, runDir, env, built, seconds }; `env` is the clean
 * environment plus the fixture store's variables and TZ=UTC.
 */
export function fixture(n, log = (s) => process.stderr.write(s)) {
  const knobs = fixtureKnobs({ activated: n - 1, booted: Math.max(1, Math.floor(n / 2)) });
  const fx = cachedFixture(path.join(CACHE, `n${n}`), n, knobs, log);
  const vars = Object.fromEntries(Object.entries(fx.env).filter(([k]) => k.startsWith('NIX_')));
  return { ...fx, env: { ...cleanEnv(), ...vars, TZ: 'UTC' } };
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

/**
 * CPU time (user + system, ms) of this process's finished children so far, from /proc/self/stat (clock ticks of
 * 10 ms); null where there is no /proc. On a loaded machine a process's CPU time varies far less than its wall
 * time, so the benches report both.
 */
function childrenCpuMs() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/**
 * Wall time of one process run and its CPU time (user + system, all its threads), in ms; throws when it fails.
 * `discard` sends stdout to /dev/null (as a user's `> /dev/null` would) instead of collecting it, so a large
 * output costs the timed process, not this one.
 */
export function timeProcess(argv, env, { cwd, discard = false } = {}) {
  const cpu0 = childrenCpuMs();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), {
    env,
    cwd,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', discard ? 'ignore' : 'pipe', 'pipe'],
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu1 = childrenCpuMs();
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr}`);
  return { ms, cpuMs: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0, stdout: r.stdout ?? '' };
}

/**
 * Runs every variant `rounds` times, alternating the order round by round (ABBA), after one untimed warm-up
 * run each (page cache, Nix's database). `variants` maps a label to { argv, env, cwd?, discard?, before? }.
 * Returns per label the wall times and the CPU times in ms.
 */
export function alternate(variants, rounds) {
  const names = Object.keys(variants);
  const run = (k) => {
    const v = variants[k];
    v.before?.();
    return timeProcess(v.argv, v.env, v);
  };
  for (const k of names) run(k);
  const times = Object.fromEntries(names.map((k) => [k, { wall: [], cpu: [] }]));
  for (let r = 0; r < rounds; r++) {
    for (const k of r % 2 === 0 ? names : [...names].reverse()) {
      const t = run(k);
      times[k].wall.push(t.ms);
      if (t.cpuMs !== null) times[k].cpu.push(t.cpuMs);
    }
  }
  return times;
}

/**
 * Medians of `alternate`'s times and their ratio to `peer`'s, as text lines and as data:
 * { [label]: { wallMs, cpuMs, wallRatio, cpuRatio } }.
 */
export function summarize(times, peer) {
  const data = {};
  for (const [k, t] of Object.entries(times)) {
    const wallMs = median(t.wall);
    const cpuMs = t.cpu.length > 0 ? median(t.cpu) : null;
    data[k] = {
      wallMs: Number(wallMs.toFixed(1)),
      cpuMs,
      wallRatio: Number((wallMs / median(times[peer].wall)).toFixed(2)),
      cpuRatio: cpuMs === null || !times[peer].cpu.length ? null : Number((cpuMs / median(times[peer].cpu)).toFixed(2)),
    };
  }
  const width = Math.max(...Object.keys(data).map((k) => k.length)) + 2;
  const lines = Object.entries(data).map(
    ([k, d]) =>
      `  ${k.padEnd(width)}wall ${d.wallMs.toFixed(0).padStart(6)} ms (${d.wallRatio.toFixed(2)}x)` +
      (d.cpuMs === null ? '' : `   cpu ${d.cpuMs.toFixed(0).padStart(6)} ms (${d.cpuRatio?.toFixed(2)}x)`),
  );
  return { data, lines };
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

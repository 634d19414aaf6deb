// Benchmark: the shipped command line, `node dist/cli.js list` (what a user types), against
// `nix-env --list-generations` on the same real-Nix profiles of 10, 200 and 1,000 generations, alternated run by
// run in one process (ABBA order), wall and CPU time: without its store cache (cold: the first run on a machine)
// and with it (warm: every run after), `node -e 0` (the floor of any Node command line), and what the explorer
// pays in-process (no process start): a first read with nothing cached, a first read with the cache file, and a
// refresh with the in-memory cache.
//
//   node bench/list.mjs [--rounds R] [--sizes 10,200,1000] [--keep-node-env]
//
// Fixtures are built once into $NIXGEN_BENCH_CACHE (default <tmp>/nixgen-bench-fixtures) and reused; building
// the 1,000-generation one takes minutes. The store cache goes to a temporary NIXOS_GENERATIONS_CACHE_DIR, never
// to $HOME. Results: a table on stdout and bench/results/list-<time>.json.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT, alternate, bundle, fixture, median, quantile, shippedCli, summarize, timeProcess } from './lib.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : args[i + 1];
};
const rounds = Number(opt('rounds', '15'));
// NODE_EXTRA_CA_CERTS (set on some machines for a proxy) makes every Node process parse a CA bundle before its
// first line: 30-60 ms here, more than everything `list` does. A user's shell rarely has it, so it is removed
// from the timed processes' environment unless --keep-node-env is given (NODE_OPTIONS likewise).
const keepNodeEnv = args.includes('--keep-node-env');
const timedEnv = (env) => {
  if (keepNodeEnv) return env;
  const out = { ...env };
  delete out.NODE_EXTRA_CA_CERTS;
  delete out.NODE_OPTIONS;
  return out;
};
const sizes = opt('sizes', '10,200,1000').split(',').map(Number);

const corePath = await bundle('src/core/generations/index.ts', 'generations.js');
const core = createRequire(import.meta.url)(corePath);

const cacheRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-bench-cache-'));
process.on('exit', () => fs.rmSync(cacheRoot, { recursive: true, force: true }));

const cli = shippedCli();

const NIX = 'nix-env --list-generations';
const FLOOR = 'node -e 0';
const COLD = 'node dist/cli.js list --json, no cache file (cold)';
const WARM = 'node dist/cli.js list --json, cache file (warm)';
const WARM_TEXT = 'node dist/cli.js list (table), cache file (warm)';
const IN_COLD = 'in-process first read, nothing cached';
const IN_FILE = 'in-process first read, cache file';
const IN_REFRESH = 'in-process refresh (memory cache)';
const IN_CLI = 'in-process, as the CLI (blocking), cache file';

/** read + configuration revisions, as the explorer and the CLI do; returns ms and the JSON. */
async function inProcess(fx, { file, cache, blocking = false }) {
  const t0 = process.hrtime.bigint();
  const c = cache ?? new core.StoreMetaCache();
  if (file) {
    const env = { NIXOS_GENERATIONS_CACHE_DIR: file };
    if (blocking) core.loadStoreCacheSync(c, env);
    else await core.loadStoreCache(c, env);
  }
  const listing = await core.readProfile(core.profileRefFor(fx.profile), { runDir: fx.runDir, cache: c, blocking });
  await core.loadConfigurationRevisions(listing.generations, { cache: c, env: fx.env, blocking });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, json: core.listingsToJson([listing]), cache: c };
}

const results = [];
for (const n of sizes) {
  const fx = fixture(n);
  fx.env = timedEnv(fx.env);
  const coldDir = path.join(cacheRoot, `cold-${n}`);
  const warmDir = path.join(cacheRoot, `warm-${n}`);
  const list = (dir, json = true) => ({
    argv: [process.execPath, cli, 'list', '--profile', fx.profile, '--run-dir', fx.runDir, ...(json ? ['--json'] : [])],
    env: { ...fx.env, NIXOS_GENERATIONS_CACHE_DIR: dir },
  });
  const variants = {
    [NIX]: { argv: ['nix-env', '--profile', fx.profile, '--list-generations'], env: fx.env },
    [FLOOR]: { argv: [process.execPath, '-e', '0'], env: fx.env },
    // the cold run starts with no cache file (removed before it, outside the timing) and writes one
    [COLD]: { ...list(coldDir), before: () => fs.rmSync(coldDir, { recursive: true, force: true }) },
    [WARM]: list(warmDir),
    [WARM_TEXT]: list(warmDir, false),
  };
  const names = Object.keys(variants);
  const run = (k) => {
    variants[k].before?.();
    return timeProcess(variants[k].argv, variants[k].env, variants[k]);
  };

  // warm-up (page cache), the warm variants' cache file, and sanity checks: both see n generations, and the
  // cache changes nothing in the output
  const nixOut = run(NIX).stdout.trim().split('\n').length;
  const cold = JSON.parse(run(COLD).stdout);
  assert.ok(fs.existsSync(path.join(coldDir, core.CACHE_FILE_NAME)), 'the cold run wrote the cache file');
  run(WARM);
  const warm = JSON.parse(run(WARM).stdout);
  if (nixOut !== n || cold.length !== n)
    throw new Error(`expected ${n} generations, nix-env ${nixOut}, ours ${cold.length}`);
  assert.deepEqual(warm, cold, 'the warm run gives exactly what the cold one gave');

  for (const v of Object.values(variants)) v.discard = true; // timed runs write to /dev/null
  const timed = alternate(variants, rounds);
  const times = Object.fromEntries(names.map((k) => [k, timed[k].wall]));
  const cpu = summarize(timed, NIX).data;

  // in the editor's process: async reads, no process start
  const inDir = path.join(cacheRoot, `in-${n}`);
  const first = await inProcess(fx, {});
  {
    // write the file the in-process "cache file" variants read
    const c = new core.StoreMetaCache();
    const pc = core.loadStoreCacheSync(c, { NIXOS_GENERATIONS_CACHE_DIR: inDir });
    await inProcess(fx, { cache: c });
    core.saveStoreCacheSync(pc);
  }
  const inTimes = { [IN_COLD]: [], [IN_FILE]: [], [IN_REFRESH]: [], [IN_CLI]: [] };
  for (let r = 0; r < rounds; r++) {
    const a = await inProcess(fx, {});
    inTimes[IN_COLD].push(a.ms);
    const b = await inProcess(fx, { file: inDir });
    inTimes[IN_FILE].push(b.ms);
    inTimes[IN_REFRESH].push((await inProcess(fx, { cache: b.cache })).ms);
    const d = await inProcess(fx, { file: inDir, blocking: true });
    inTimes[IN_CLI].push(d.ms);
    assert.deepEqual(b.json, first.json, 'the cache file changes nothing in the listing');
    if (a.json.length !== n || d.json.length !== n) throw new Error('in-process listing is short');
  }

  const all = { ...times, ...inTimes };
  const nixMed = median(times[NIX]);
  results.push({
    generations: n,
    fixtureBuiltSeconds: fx.built ? Number(fx.seconds.toFixed(1)) : null,
    medianMs: Object.fromEntries(Object.entries(all).map(([k, v]) => [k, Number(median(v).toFixed(2))])),
    p90Ms: Object.fromEntries(Object.entries(all).map(([k, v]) => [k, Number(quantile(v, 0.9).toFixed(2))])),
    ratioToNixEnv: Object.fromEntries(
      Object.entries(all).map(([k, v]) => [k, Number((median(v) / nixMed).toFixed(2))]),
    ),
    cpuMs: Object.fromEntries(names.map((k) => [k, cpu[k].cpuMs])),
    cpuRatioToNixEnv: Object.fromEntries(names.map((k) => [k, cpu[k].cpuRatio])),
  });
}

const pad = (s, w) => String(s).padEnd(w);
const rows = Object.keys(results[0].medianMs);
const labelWidth = Math.max(...rows.map((k) => k.length)) + 2;
process.stdout.write(
  `rounds: ${rounds} per variant (processes alternated ABBA with nix-env); median wall ms (ratio to nix-env)` +
    `${keepNodeEnv ? '; NODE_EXTRA_CA_CERTS/NODE_OPTIONS kept' : '; without NODE_EXTRA_CA_CERTS/NODE_OPTIONS'}\n`,
);
process.stdout.write(`${pad('', labelWidth)}${results.map((r) => pad(`${r.generations} generations`, 22)).join('')}\n`);
for (const k of rows) {
  const cells = results.map((r) => pad(`${r.medianMs[k].toFixed(1)} (${r.ratioToNixEnv[k]}x)`, 22));
  process.stdout.write(`${pad(k, labelWidth)}${cells.join('')}\n`);
}
process.stdout.write('CPU time of the processes (user + system, 10 ms ticks), median ms (ratio to nix-env)\n');
for (const k of Object.keys(results[0].cpuMs)) {
  const cells = results.map((r) => pad(`${r.cpuMs[k]} (${r.cpuRatioToNixEnv[k]}x)`, 22));
  process.stdout.write(`${pad(k, labelWidth)}${cells.join('')}\n`);
}
const outDir = path.join(ROOT, 'bench', 'results');
fs.mkdirSync(outDir, { recursive: true });
const file = path.join(outDir, `list-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
fs.writeFileSync(
  file,
  `${JSON.stringify({ node: process.version, cpus: os.cpus().length, loadavg: os.loadavg(), rounds, keepNodeEnv, results }, null, 2)}\n`,
);
process.stdout.write(`results: ${path.relative(ROOT, file)}\n`);

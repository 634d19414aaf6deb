// Benchmark: `nixos-generations list` against `nix-env --list-generations` on the same real-Nix profiles of
// 10, 200 and 1,000 generations, alternated run by run in one process (ABBA order), plus the in-process cost the
// explorer pays (readProfile + configuration revisions, fresh cache, no Node start-up).
//
//   node bench/list.mjs [--rounds R] [--sizes 10,200,1000]
//
// Fixtures are built once into $NIXGEN_BENCH_CACHE (default <tmp>/nixgen-bench-fixtures) and reused; building
// the 1,000-generation one takes minutes. Results: a table on stdout and bench/results/list-<time>.json.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT, bundle, fixture, median, quantile, timeProcess } from './lib-fixture.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : args[i + 1];
};
const rounds = Number(opt('rounds', '15'));
const sizes = opt('sizes', '10,200,1000').split(',').map(Number);

const cli = await bundle('src/cli/main.ts', 'cli.js');
const corePath = await bundle('src/core/generations/index.ts', 'generations.js');
const core = createRequire(import.meta.url)(corePath);

const results = [];
for (const n of sizes) {
  const fx = fixture(n);
  const variants = {
    'nix-env --list-generations': ['nix-env', '--profile', fx.profile, '--list-generations'],
    'nixos-generations list --json': [
      process.execPath,
      cli,
      'list',
      '--profile',
      fx.profile,
      '--run-dir',
      fx.runDir,
      '--json',
    ],
    'nixos-generations list': [process.execPath, cli, 'list', '--profile', fx.profile, '--run-dir', fx.runDir],
    // the floor any Node command line pays before reading anything
    'node -e 0': [process.execPath, '-e', '0'],
  };
  const names = Object.keys(variants);
  // warm-up (page cache, JIT of nothing: separate processes) and a sanity check that both see n generations
  const nixOut = timeProcess(variants[names[0]], fx.env).stdout.trim().split('\n').length;
  const ours = JSON.parse(timeProcess(variants[names[1]], fx.env).stdout);
  if (nixOut !== n || ours.length !== n)
    throw new Error(`expected ${n} generations, nix-env ${nixOut}, ours ${ours.length}`);
  const times = Object.fromEntries(names.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const k of order) times[k].push(timeProcess(variants[k], fx.env).ms);
  }
  // what the explorer pays inside the running extension host: read + revisions, fresh cache, no process start
  const inProc = [];
  for (let r = 0; r < rounds; r++) {
    const cache = new core.StoreMetaCache();
    const t0 = process.hrtime.bigint();
    const listing = await core.readProfile(core.profileRefFor(fx.profile), { runDir: fx.runDir, cache });
    await core.loadConfigurationRevisions(listing.generations, { cache, env: fx.env });
    inProc.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (listing.generations.length !== n) throw new Error('in-process listing is short');
  }
  const nixMed = median(times[names[0]]);
  const row = {
    generations: n,
    fixtureBuiltSeconds: fx.built ? Number(fx.seconds.toFixed(1)) : null,
    medianMs: Object.fromEntries([
      ...names.map((k) => [k, median(times[k])]),
      ['in-process readProfile+revisions', median(inProc)],
    ]),
    p90Ms: Object.fromEntries(names.map((k) => [k, quantile(times[k], 0.9)])),
    ratioToNixEnv: Object.fromEntries(
      [...names.slice(1), 'in-process readProfile+revisions'].map((k) => [
        k,
        Number(((k.startsWith('in-process') ? median(inProc) : median(times[k])) / nixMed).toFixed(2)),
      ]),
    ),
  };
  results.push(row);
}

const pad = (s, w) => String(s).padEnd(w);
const cols = [
  'nix-env --list-generations',
  'node -e 0',
  'nixos-generations list --json',
  'nixos-generations list',
  'in-process readProfile+revisions',
];
process.stdout.write(`rounds per variant: ${rounds} (alternated), median wall ms (ratio to nix-env)\n`);
process.stdout.write(`${pad('generations', 12)}${cols.map((c) => pad(c, 36)).join('')}\n`);
for (const r of results) {
  const cells = cols.map((c, i) => pad(`${r.medianMs[c].toFixed(1)}${i === 0 ? '' : ` (${r.ratioToNixEnv[c]}x)`}`, 36));
  process.stdout.write(`${pad(r.generations, 12)}${cells.join('')}\n`);
}
const outDir = path.join(ROOT, 'bench', 'results');
fs.mkdirSync(outDir, { recursive: true });
const file = path.join(outDir, `list-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
fs.writeFileSync(
  file,
  `${JSON.stringify({ node: process.version, cpus: (await import('node:os')).cpus().length, rounds, results }, null, 2)}\n`,
);
process.stdout.write(`results: ${path.relative(ROOT, file)}\n`);

// Benchmark: the shipped command line, `node dist/cli.js diff A B --json` (what a user types), against
// `nix store diff-closures A B` on the same pairs of real fixture generations, alternated run by run in one process
// (ABBA order), wall and CPU time, plus the in-process cost the preview pays
// (diffSystems: closures read through one `nix path-info -r --json`, no Node start-up).
//
//   node bench/diff.mjs [--rounds R] [--generations N]
//
// The fixture (default 30 generations) is built once into $NIXGEN_BENCH_CACHE and reused. Results: a table on
// stdout and bench/results/diff-<time>.json.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import {
  ROOT,
  alternate,
  bundle,
  fixture,
  median,
  nodeTimingEnv,
  quantile,
  shippedCli,
  summarize,
  timeProcess,
} from './lib.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : args[i + 1];
};
const rounds = Number(opt('rounds', '20'));
const n = Number(opt('generations', '30'));

const cli = shippedCli();
const corePath = await bundle('src/core/diff/index.ts', 'diff.js');
const core = createRequire(import.meta.url)(corePath);

const fx = fixture(n);
// the closures the CLI keeps go to a temporary directory, never to $HOME
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-bench-diff-cache-'));
process.on('exit', () => fs.rmSync(cacheDir, { recursive: true, force: true }));
fx.env = { ...nodeTimingEnv(fx.env), NIXOS_GENERATIONS_CACHE_DIR: cacheDir };
const WARM = 'node dist/cli.js diff A B --json';
const COLD = 'node dist/cli.js diff A B --json --no-cache';
const FLOOR = 'node -e 0';
const link = (g) => fs.realpathSync(`${fx.profile}-${g}-link`);
const pairs = [
  [1, n],
  [n - 1, n],
];
// eslint-disable-next-line no-control-regex
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');

const results = [];
for (const [ga, gb] of pairs) {
  const [a, b] = [link(ga), link(gb)];
  const variants = {
    'nix store diff-closures': ['nix', '--extra-experimental-features', 'nix-command', 'store', 'diff-closures', a, b],
    // closures kept by an earlier run (the warm-up below): no nix process
    [WARM]: [process.execPath, cli, 'diff', a, b, '--json'],
    // every run asks `nix path-info -r --json`, as the first diff of a pair does
    [COLD]: [process.execPath, cli, 'diff', a, b, '--json', '--no-cache'],
    [FLOOR]: [process.execPath, '-e', '0'],
  };
  const names = Object.keys(variants);
  // warm-up and a sanity check: every versioned package diff-closures names is in ours with the same versions
  const theirs = strip(timeProcess(variants[names[0]], fx.env).stdout);
  const ours = JSON.parse(timeProcess(variants[names[1]], fx.env).stdout);
  for (const line of theirs.split('\n')) {
    const m = /^(.+?): (.+?) → ([^,]+)/.exec(line);
    if (!m || m[1].startsWith('nixos-system-') || /[∅ε]/.test(m[2] + m[3])) continue;
    const p = ours.closure.packages.find((x) => x.name === m[1]);
    if (!p || p.before.join(', ') !== m[2] || p.after.join(', ') !== m[3]) {
      throw new Error(`disagreement on ${m[1]}: nix says ${m[2]} → ${m[3]}, we say ${JSON.stringify(p)}`);
    }
  }
  const timed = alternate(
    Object.fromEntries(names.map((k) => [k, { argv: variants[k], env: fx.env, discard: true }])),
    rounds,
  );
  const times = Object.fromEntries(names.map((k) => [k, timed[k].wall]));
  const cpu = summarize(timed, names[0]).data;
  const inProc = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    await core.diffSystems(a, b, { env: fx.env });
    inProc.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const nixMed = median(times[names[0]]);
  results.push({
    pair: `${ga} -> ${gb}`,
    closurePaths: [ours.closure.pathsBefore, ours.closure.pathsAfter],
    packagesChanged: ours.closure.packages.length,
    medianMs: {
      ...Object.fromEntries(names.map((k) => [k, median(times[k])])),
      'in-process diffSystems': median(inProc),
    },
    p90Ms: Object.fromEntries(names.map((k) => [k, quantile(times[k], 0.9)])),
    cpuMs: Object.fromEntries(names.map((k) => [k, cpu[k].cpuMs])),
    cpuRatio: Object.fromEntries(names.map((k) => [k, cpu[k].cpuRatio])),
    ratioToDiffClosures: {
      ...Object.fromEntries(names.slice(1).map((k) => [k, Number((median(times[k]) / nixMed).toFixed(2))])),
      'in-process diffSystems': Number((median(inProc) / nixMed).toFixed(2)),
    },
  });
}

const pad = (s, w) => String(s).padEnd(w);
const cols = ['nix store diff-closures', WARM, COLD, FLOOR, 'in-process diffSystems'];
process.stdout.write(
  `fixture: ${n} generations (${fx.dir}); rounds per variant: ${rounds} (alternated); median wall ms (ratio to diff-closures)\n`,
);
process.stdout.write(`${pad('pair', 10)}${pad('paths', 10)}${cols.map((c) => pad(c, 46)).join('')}\n`);
for (const r of results) {
  const cells = cols.map((c, i) =>
    pad(`${r.medianMs[c].toFixed(1)}${i === 0 ? '' : ` (${r.ratioToDiffClosures[c]}x)`}`, 46),
  );
  process.stdout.write(`${pad(r.pair, 10)}${pad(r.closurePaths.join('/'), 10)}${cells.join('')}\n`);
  process.stdout.write(
    `${pad('', 20)}CPU (user + system, 10 ms ticks): diff-closures ${r.cpuMs[cols[0]]} ms; ` +
      cols
        .slice(1, 4)
        .map((c) => `${c} ${r.cpuMs[c]} ms (${r.cpuRatio[c]}x)`)
        .join('; ') +
      '\n',
  );
}
const outDir = path.join(ROOT, 'bench', 'results');
fs.mkdirSync(outDir, { recursive: true });
const file = path.join(outDir, `diff-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
fs.writeFileSync(file, `${JSON.stringify({ rounds, generations: n, node: process.version, results }, null, 2)}\n`);
process.stdout.write(`written ${path.relative(ROOT, file)}\n`);

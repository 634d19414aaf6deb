#!/usr/bin/env node
// Parser benchmark: our parser and Nix's own C++ parser (one `nix-instantiate --parse` process over all the
// files), alternated for several rounds in one run; then the time to re-parse a 2,000-line file after a
// one-character edit.
//
//   node bench/parse.mjs [--rounds N] [--cold-runs N] [--keep-node-env] [DIR_OR_FILE...]
//
// Default files: test/conformance/cases, plus /tmp/hm when it exists (e.g. a `git archive` of home-manager).
// Only files Nix 2.8 accepts take part (one process must get through all of them). Figures are wall-clock:
// ours in-process (reading + parsing every file), Nix's as one process (start-up, reading, parsing, printing).
// "Cold" has two definitions, both reported: (1) in this process, the first pass over the files right after
// the bundle is loaded (the JIT has not seen the parser yet); (2) fresh `node` processes (--cold-runs of them,
// alternated with Nix runs) that load the bundle and parse every file once: their parse pass, and their whole
// wall time from spawn to exit, against one `nix-instantiate --parse` process doing the same files.
// NODE_EXTRA_CA_CERTS (set on some machines for a proxy) makes every Node process parse a CA bundle before its
// first line (30-60 ms here); it and NODE_OPTIONS are removed from the fresh processes' environment unless
// --keep-node-env is given (start this script itself with them unset too, for the in-process figures).
// Results: stdout and bench/results/parse-<time>.json.
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
let rounds = 7;
let coldRuns = 5;
let keepNodeEnv = false;
const inputs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--rounds') rounds = Number(args[++i]);
  else if (args[i] === '--cold-runs') coldRuns = Number(args[++i]);
  else if (args[i] === '--keep-node-env') keepNodeEnv = true;
  else inputs.push(path.resolve(args[i]));
}
if (inputs.length === 0) {
  inputs.push(path.join(root, 'test/conformance/cases'));
  if (existsDir('/tmp/hm')) inputs.push('/tmp/hm');
}

function existsDir(p) {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function nixFiles(p) {
  if (!existsDir(p)) return [p];
  const out = [];
  for (const e of readdirSync(p, { withFileTypes: true })) {
    const child = path.join(p, e.name);
    if (e.isDirectory()) out.push(...nixFiles(child));
    else if (e.isFile() && e.name.endsWith('.nix')) out.push(child);
  }
  return out;
}

// Our parser, bundled as it ships.
const tmp = mkdtempSync(path.join(os.tmpdir(), 'parse-bench-'));
const bundle = path.join(tmp, 'parser.cjs');
await build({
  entryPoints: [path.join(root, 'bench/parse-entry.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  outfile: bundle,
  logLevel: 'silent',
});
const { parse, checkScope, LineIndex, runProcess } = createRequire(import.meta.url)(bundle);

const env = { NIX_REMOTE: 'dummy://', NIX_PATH: '', NIX_CONFIG: 'build-users-group =' };

// The file set: what Nix 2.8 accepts (we pre-select with our own verdict, then let Nix confirm).
let files = [...new Set(inputs.flatMap(nixFiles))].sort();
// This first pass also measures our parser cold (the JIT has not seen it yet): reading + parsing only.
let coldSeconds = 0;
files = files.filter((f) => {
  const t0 = process.hrtime.bigint();
  const text = readFileSync(f, 'utf8');
  const { root: tree, errors } = parse(text);
  coldSeconds += Number(process.hrtime.bigint() - t0) / 1e9;
  if (text.includes('|>') || text.includes('<|')) return false;
  return errors.length === 0 && checkScope(tree, { merge: 'nix-2.8', anyDunder: false }).length === 0;
});
for (;;) {
  const check = await runProcess(['nix-instantiate', '--parse', ...files], { env });
  if (check.exitCode === 0) break;
  const at = /^\s*at (.+):\d+:\d+:\s*$/m.exec(check.stderr);
  if (!at || !files.includes(at[1])) throw new Error(`nix-instantiate failed: ${check.stderr.slice(0, 500)}`);
  console.log(`(left out, Nix rejects it: ${at[1]})`);
  files = files.filter((f) => f !== at[1]);
}
const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
const mb = bytes / 1e6;
console.log(`files: ${files.length}, ${mb.toFixed(2)} MB (${inputs.join(', ')})`);
console.log(
  `node ${process.version}, ${os.cpus().length} CPUs, load average ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);

function ours() {
  const t0 = process.hrtime.bigint();
  let errors = 0;
  for (const f of files) errors += parse(readFileSync(f, 'utf8')).errors.length;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (errors !== 0) throw new Error('our parser reported errors');
  return s;
}
async function nix() {
  const t0 = process.hrtime.bigint();
  // Nix's output is drained but not kept (keeping it would leave garbage for our next round to collect).
  const r = await runProcess(['nix-instantiate', '--parse', ...files], { env, maxOutputBytes: 1 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.exitCode !== 0) throw new Error(`nix-instantiate failed: ${r.stderr.slice(0, 300)}`);
  return s;
}

const rows = [];
for (let r = 0; r < rounds; r++) {
  let a;
  let b;
  if (r % 2 === 0) {
    a = ours();
    b = await nix();
  } else {
    b = await nix();
    a = ours();
  }
  rows.push({ ours: a, nix: b });
  console.log(
    `round ${r + 1}: ours ${(a * 1000).toFixed(0)} ms, nix ${(b * 1000).toFixed(0)} ms, nix/ours ${(b / a).toFixed(2)}`,
  );
}
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
};
const warm = rows.slice(1);
// Round 1 is reported but left out of the medians (both sides warming caches).
const o = median(warm.map((x) => x.ours));
const n = median(warm.map((x) => x.nix));
const ratios = warm.map((x) => x.nix / x.ours);
const fmt = (s) => `${(files.length / s).toFixed(0)} files/s, ${(mb / s).toFixed(1)} MB/s`;
console.log(`median of rounds 2-${rounds}:`);
console.log(`  ours: ${(o * 1000).toFixed(0)} ms  ${fmt(o)}`);
console.log(`  nix : ${(n * 1000).toFixed(0)} ms  ${fmt(n)}`);
console.log(
  `  ratio nix/ours: median ${median(ratios).toFixed(2)} (min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)})`,
);
console.log(
  `  ours cold, in this process (first pass over the files right after loading the bundle, JIT not warmed up): ${(coldSeconds * 1000).toFixed(0)} ms, ${fmt(coldSeconds)}, nix/ours ${(n / coldSeconds).toFixed(2)}`,
);

// Cold, definition 2: fresh Node processes, each loading the bundle and parsing every file once.
const listFile = path.join(tmp, 'files.json');
writeFileSync(listFile, JSON.stringify(files));
const coldScript = path.join(tmp, 'cold.cjs');
writeFileSync(
  coldScript,
  `const { readFileSync } = require('node:fs');
const files = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const now = () => Number(process.hrtime.bigint()) / 1e6;
const t0 = now();
const { parse } = require(process.argv[3]);
const t1 = now();
parse('{ a = 1; }');
const t2 = now();
let errors = 0;
for (const f of files) errors += parse(readFileSync(f, 'utf8')).errors.length;
const t3 = now();
process.stdout.write(JSON.stringify({ loadMs: t1 - t0, tinyMs: t2 - t1, passMs: t3 - t2, errors }));
`,
);
const nodeEnv = { ...process.env };
if (!keepNodeEnv) {
  delete nodeEnv.NODE_EXTRA_CA_CERTS;
  delete nodeEnv.NODE_OPTIONS;
}
const coldRows = [];
for (let r = 0; r < coldRuns; r++) {
  const nixMs = (await nix()) * 1000;
  const t0 = process.hrtime.bigint();
  const run = await runProcess([process.execPath, coldScript, listFile, bundle], { baseEnv: nodeEnv });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (run.exitCode !== 0) throw new Error(`cold run failed: ${run.stderr.slice(0, 300)}`);
  const row = { ...JSON.parse(run.stdout), wallMs, nixMs };
  if (row.errors !== 0) throw new Error('our parser reported errors in a cold run');
  coldRows.push(row);
}
rmSync(tmp, { recursive: true, force: true });
const coldPass = median(coldRows.map((x) => x.passMs)) / 1000;
const coldWall = median(coldRows.map((x) => x.wallMs)) / 1000;
const coldNix = median(coldRows.map((x) => x.nixMs)) / 1000;
console.log(
  `cold, fresh processes (${coldRuns} runs alternated with Nix, medians${keepNodeEnv ? '; NODE_EXTRA_CA_CERTS/NODE_OPTIONS kept' : '; without NODE_EXTRA_CA_CERTS/NODE_OPTIONS'}):`,
);
console.log(
  `  ours, parse pass (bundle loaded, one tiny parse done): ${(coldPass * 1000).toFixed(0)} ms  ${fmt(coldPass)}, nix/ours ${(coldNix / coldPass).toFixed(2)}`,
);
console.log(
  `  ours, whole process (spawn to exit): ${(coldWall * 1000).toFixed(0)} ms  ${fmt(coldWall)}, nix/ours ${(coldNix / coldWall).toFixed(2)}`,
);
console.log(
  `  load the bundle ${median(coldRows.map((x) => x.loadMs)).toFixed(1)} ms, first tiny parse ${median(coldRows.map((x) => x.tinyMs)).toFixed(1)} ms; nix (same runs): ${(coldNix * 1000).toFixed(0)} ms`,
);

// Re-parse of a 2,000-line file after a one-character edit (what the language server does per keystroke).
const blocks = [];
for (let i = 0; blocks.join('\n').split('\n').length < 2000; i++) {
  blocks.push(
    [
      `  services.svc${i} = {`,
      `    enable = ${i % 2 === 0 ? 'true' : 'false'};`,
      `    package = pkgs.svc${i} or pkgs.hello;`,
      `    settings = { port = ${8000 + i}; hosts = [ "a${i}.example.org" "b.example.org" ]; };`,
      `    extraConfig = ''`,
      `      listen ${'${toString cfg.port}'};`,
      `    '';`,
      `  };`,
    ].join('\n'),
  );
}
const big = `{ config, lib, pkgs, ... }:\nlet cfg = config.x; in {\n${blocks.join('\n')}\n  system.stateVersion = "24.05";\n}\n`;
const lines = big.split('\n').length;
for (let i = 0; i < 30; i++) parse(big);
const times = [];
let text = big;
for (let i = 0; i < 200; i++) {
  const at = text.indexOf('8', (i * 997) % text.length);
  const p = at < 0 ? text.indexOf('8') : at;
  text = `${text.slice(0, p)}${i % 2 === 0 ? '9' : '8'}${text.slice(p + 1)}`;
  const t0 = process.hrtime.bigint();
  const result = parse(text);
  new LineIndex(text);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (result.errors.length !== 0) throw new Error('the edited file should parse');
}
times.sort((x, y) => x - y);
const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  loadavg: os.loadavg(),
  inputs,
  files: files.length,
  bytes,
  rounds: rows.map((x) => ({ oursMs: x.ours * 1000, nixMs: x.nix * 1000 })),
  medianOursMs: o * 1000,
  medianNixMs: n * 1000,
  ratioNixOverOurs: median(ratios),
  oursColdMs: coldSeconds * 1000,
  coldProcesses: { keepNodeEnv, runs: coldRows },
  reparse: { lines, bytes: big.length, medianMs: times[100], p95Ms: times[190], maxMs: times[199] },
};
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
const out = path.join(root, `bench/results/parse-${result.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(
  `re-parse after a one-character edit, ${lines} lines (${(big.length / 1024).toFixed(0)} KiB), parse + LineIndex: median ${times[100].toFixed(2)} ms, p95 ${times[190].toFixed(2)} ms, max ${times[199].toFixed(2)} ms`,
);
console.log(`results: ${path.relative(process.cwd(), out)}`);

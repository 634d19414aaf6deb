// Benchmark of the evaluation layer (`lint --eval`, the language server's background evaluation):
//  1. evaluation time per host of the fixture flake (test/fixtures/evalFlake.ts: nixpkgs is a path: stand-in with
//     nixosSystem's shape): the exact `nix eval` process our evaluator runs (the host as configured plus the
//     extendModules evaluation with stateVersion raised, every rule-database option and every enabled service's
//     options), side by side with the smallest Nix query a user would run by hand,
//     `nix eval <flake>#nixosConfigurations.<host>.config.system.stateVersion`, as a ratio;
//  2. the CLI as shipped: `node dist/cli.js lint --eval DIR` with an empty cache and with a warm one, beside the
//     static `lint DIR`;
//  3. typing while an evaluation runs: didChange -> publishDiagnostics latency of the language server on a
//     2,000-line module with evaluation off, and while a long evaluation (the `slow` host) is running.
//
//   node bench/eval.mjs [--rounds R]
//
// Results: a table on stdout and bench/results/eval-<time>.json.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { ROOT, bundle, cleanEnv, median, nodeTimingEnv, quantile, shippedCli, timeProcess } from './lib.mjs';

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const at = args.indexOf('--rounds');
const rounds = at >= 0 ? Number(args[at + 1]) : 5;

const cli = shippedCli();
const server = await bundle('src/server/main.ts', 'server.js');
const { makeEvalFlake } = require(await bundle('test/fixtures/evalFlake.ts', 'evalFlake.js'));
const { Evaluator, nixEvalArgv } = require(await bundle('src/core/eval/evaluator.ts', 'evaluator.js'));
const shape = path.join(ROOT, 'test', 'fixtures', 'eval', 'nixos-shape.nix');
const fmt = (n) => `${n.toFixed(1)} ms`;
const results = { rounds, hosts: [], cli: null, typing: null };

// 1. Per host.
const flake = makeEvalFlake(shape, { slowWork: 1000 });
const env = nodeTimingEnv({ ...cleanEnv(), ...flake.env });
const params = new Evaluator().params();
for (const host of ['db', 'pinned', 'broken', 'nostate', 'slow']) {
  const ours = [];
  const peer = [];
  const argv = nixEvalArgv('nix', flake.dir, host, params);
  const peerArgv = [
    'nix',
    '--extra-experimental-features',
    'nix-command flakes',
    'eval',
    '--json',
    '--offline',
    '--no-write-lock-file',
    `${flake.dir}#nixosConfigurations.${host}.config.system.stateVersion`,
  ];
  timeProcess(argv, env); // the first run copies the sources into the store
  for (let i = 0; i < rounds; i++) {
    ours.push(timeProcess(argv, env).ms);
    peer.push(timeProcess(peerArgv, env).ms);
  }
  results.hosts.push({ host, oursMs: median(ours), peerMs: median(peer), ratio: median(ours) / median(peer) });
}

// 2. The CLI.
const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-bench-eval-cache-'));
const cold = [];
const warm = [];
const staticRuns = [];
for (let i = 0; i < rounds; i++) {
  fs.rmSync(cache, { recursive: true, force: true });
  const cliEnv = { ...env, XDG_CACHE_HOME: cache };
  cold.push(timeProcess([process.execPath, cli, 'lint', '--eval', flake.dir], cliEnv).ms);
  warm.push(timeProcess([process.execPath, cli, 'lint', '--eval', flake.dir], cliEnv).ms);
  staticRuns.push(timeProcess([process.execPath, cli, 'lint', flake.dir], cliEnv).ms);
}
results.cli = { hosts: 6, coldMs: median(cold), warmMs: median(warm), staticMs: median(staticRuns) };
flake.cleanup();
fs.rmSync(cache, { recursive: true, force: true });

// 3. Typing while an evaluation runs.
const { createMessageConnection, StreamMessageReader, StreamMessageWriter } = require(
  require.resolve('vscode-jsonrpc/node', { paths: [ROOT] }),
);
async function typing(evaluationOn) {
  const f = makeEvalFlake(shape, { slowWork: 30_000_000 });
  const big = path.join(f.dir, 'modules', 'big.nix');
  fs.mkdirSync(path.dirname(big), { recursive: true });
  let text = `{ ... }: {\n${Array.from({ length: 2000 }, (_, i) => `  environment.etc."f${i}".text = "line ${i}";`).join('\n')}\n}\n`;
  fs.writeFileSync(big, text);
  const child = spawn(process.execPath, [server, '--stdio'], {
    stdio: ['pipe', 'pipe', 'ignore'],
    env: { ...cleanEnv(), ...f.env },
  });
  const conn = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  let waiting;
  const progress = [];
  conn.onNotification('textDocument/publishDiagnostics', (p) => {
    if (p.uri === uri && waiting) waiting();
  });
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.onNotification('$/progress', (p) => progress.push(p.value));
  conn.listen();
  const uri = pathToFileURL(big).href;
  await conn.sendRequest('initialize', {
    processId: process.pid,
    rootUri: pathToFileURL(f.dir).href,
    capabilities: { window: { workDoneProgress: true } },
    initializationOptions: { base: '', runDir: '', trusted: true, evaluation: { enabled: evaluationOn } },
  });
  await conn.sendNotification('initialized', {});
  let p = new Promise((r) => (waiting = r));
  await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'nix', version: 1, text } });
  await p;
  if (evaluationOn) {
    const deadline = Date.now() + 120_000;
    while (!progress.some((v) => (v.message ?? '').startsWith('slow')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
  }
  const times = [];
  let duringEvaluation = 0;
  for (let i = 0; i < rounds * 4; i++) {
    text = text.replace(/line 7"|line 8"/, i % 2 ? 'line 7"' : 'line 8"');
    p = new Promise((r) => (waiting = r));
    const t0 = process.hrtime.bigint();
    await conn.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: i + 2 },
      contentChanges: [{ text }],
    });
    await p;
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (evaluationOn && !progress.some((v) => v.kind === 'end')) duringEvaluation++;
  }
  await conn.sendRequest('shutdown').catch(() => undefined);
  await conn.sendNotification('exit').catch(() => undefined);
  conn.dispose();
  child.kill();
  f.cleanup();
  return { medianMs: median(times), p90Ms: quantile(times, 0.9), edits: times.length, duringEvaluation };
}
const off = await typing(false);
const on = await typing(true);
results.typing = { lines: 2001, debounceMs: 150, off, on, ratio: on.medianMs / off.medianMs };

process.stdout.write(
  `\nevaluation per host, one nix eval process each (median of ${rounds}; ${os.cpus().length} CPUs)\n`,
);
process.stdout.write('  host      ours (both evaluations, all options)   nix eval …stateVersion   ratio\n');
for (const h of results.hosts)
  process.stdout.write(
    `  ${h.host.padEnd(9)} ${fmt(h.oursMs).padStart(12)} ${' '.repeat(25)} ${fmt(h.peerMs).padStart(10)}   ${h.ratio.toFixed(2)}×\n`,
  );
process.stdout.write(
  `\nnode dist/cli.js lint --eval (6 hosts, one fails): empty cache ${fmt(results.cli.coldMs)}, warm cache ${fmt(results.cli.warmMs)}; static lint ${fmt(results.cli.staticMs)}\n`,
);
process.stdout.write(
  `\ntyping (didChange -> publishDiagnostics, ${results.typing.lines}-line module, ${off.edits} edits, 150 ms debounce included)\n` +
    `  evaluation off:              median ${fmt(off.medianMs)}, p90 ${fmt(off.p90Ms)}\n` +
    `  while evaluating 'slow':     median ${fmt(on.medianMs)}, p90 ${fmt(on.p90Ms)} (${on.duringEvaluation} of ${on.edits} edits during the evaluation) — ${results.typing.ratio.toFixed(2)}×\n`,
);
fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
const outFile = path.join(ROOT, 'bench/results', `eval-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
fs.writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`\n${path.relative(ROOT, outFile)}\n`);

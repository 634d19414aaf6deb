// Hostile sizes, timed on what a user runs: `node dist/cli.js parse FILE` and `node dist/cli.js lint DIR`, one
// process per case, with its wall time and peak memory (GNU time's maximum resident set size). The inputs are
// those of issue 9: a 30 MB module, 25 million `)`, a flake with six 8 MB modules, a 1 MB module (the largest
// file lint still reads) and the largest inputs parse still reads (8 MB of module, 8 Mi of `)`), and a flake with
// 200 MB of `(` in a file no host imports (lint never opens it). Side by side: `nix-instantiate --parse` on the same
// parse inputs (the peer). The goal: every case ends within 60 s under 1.5 GB, with a clear message.
//
//   node bench/hostile-sizes.mjs [--keep] [--only REGEX]   (--only: the cases whose name matches)
//
// Results: a table on stdout and bench/results/hostile-sizes-<time>.json.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, nodeTimingEnv, shippedCli } from './lib.mjs';

const TIME = '/usr/bin/time';
if (!fs.existsSync(TIME))
  throw new Error('GNU time (/usr/bin/time) is needed for the peak memory: apt-get install time');
const cli = shippedCli();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-bench-sizes-'));
const env = nodeTimingEnv(process.env);

function module(bytes) {
  const parts = ['{ config, pkgs, ... }: {\n  system.stateVersion = "24.05";\n'];
  let size = parts[0].length;
  for (let i = 0; size < bytes; i++) {
    const line = `  services.s${i} = { enable = true; settings = { a = "x"; b = [ 1 2 3 ]; c = { d = 1.5; }; }; };\n`;
    parts.push(line);
    size += line.length;
  }
  parts.push('}\n');
  return parts.join('');
}

const write = (name, text) => {
  const file = path.join(work, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
};
const mb = 1024 * 1024;
const big30 = write('big30.nix', module(30 * mb));
const parens = write('parens.nix', ')'.repeat(25_000_000));
const mod1 = write('mod1.nix', module(1 * mb - 4096));
// the largest inputs parse still reads: a module, and garbage (one token per character, the worst case)
const mod8 = write('mod8.nix', module(8 * mb - 4096));
const parens8 = write('parens8.nix', ')'.repeat(8 * mb));
const flake = path.join(work, 'flake');
write(
  'flake/flake.nix',
  `{ outputs = { self, nixpkgs }: { nixosConfigurations.h = nixpkgs.lib.nixosSystem { modules = [ ${[1, 2, 3, 4, 5, 6].map((i) => `./m${i}.nix`).join(' ')} ]; }; }; }\n`,
);
for (let i = 1; i <= 6; i++) write(`flake/m${i}.nix`, module(8 * mb));
// a flake whose host is small, beside 200 MB of `(` that nothing imports
const unreachable = path.join(work, 'unreachable');
write(
  'unreachable/flake.nix',
  '{ outputs = { self, nixpkgs }: { nixosConfigurations.h = nixpkgs.lib.nixosSystem { modules = [ ./host.nix ]; }; }; }\n',
);
write('unreachable/host.nix', module(64 * 1024));
{
  const fd = fs.openSync(path.join(unreachable, 'vendor.nix'), 'w');
  const chunk = Buffer.alloc(mb, '(');
  for (let i = 0; i < 200; i++) fs.writeSync(fd, chunk);
  fs.closeSync(fd);
}

/** Runs argv under GNU time; returns wall seconds, peak MB, exit code and the first line of stderr. */
function measure(argv) {
  const r = spawnSync(TIME, ['-f', '__TIME__ %e %M', ...argv], {
    env,
    encoding: 'utf8',
    maxBuffer: 256 * mb,
    timeout: 300_000,
  });
  const m = /__TIME__ ([\d.]+) (\d+)/.exec(r.stderr ?? '');
  const stderr = (r.stderr ?? '')
    .replace(/.*__TIME__.*\n?/, '')
    .replace(/Command exited with non-zero status \d+\n?/, '');
  const message = (stderr.trim().split('\n')[0] || (r.stdout ?? '').trim().split('\n')[0] || '').slice(0, 120);
  return {
    seconds: m ? Number(m[1]) : null,
    peakMB: m ? Math.round(Number(m[2]) / 1024) : null,
    exit: r.status,
    message,
  };
}

const nixParse = spawnSync('nix-instantiate', ['--version']).status === 0;
const cases = [
  ['parse 30 MB module', [process.execPath, cli, 'parse', big30], ['nix-instantiate', '--parse', big30]],
  ['parse 25 M `)`', [process.execPath, cli, 'parse', parens], ['nix-instantiate', '--parse', parens]],
  ['parse 1 MB module', [process.execPath, cli, 'parse', mod1], ['nix-instantiate', '--parse', mod1]],
  ['parse 8 MB module (largest read)', [process.execPath, cli, 'parse', mod8], ['nix-instantiate', '--parse', mod8]],
  ['parse 8 Mi `)` (largest read)', [process.execPath, cli, 'parse', parens8], ['nix-instantiate', '--parse', parens8]],
  ['lint flake, six 8 MB modules', [process.execPath, cli, 'lint', '--base', '', flake], null],
  ['lint 1 MB module', [process.execPath, cli, 'lint', '--base', '', mod1], null],
  ['lint flake, 200 MB nobody imports', [process.execPath, cli, 'lint', '--base', '', unreachable], null],
];
const only = process.argv.indexOf('--only');
const selected = only >= 0 ? cases.filter(([name]) => new RegExp(process.argv[only + 1] ?? '').test(name)) : cases;
const results = [];
for (const [name, ours, peer] of selected) {
  const us = measure(ours);
  const them = peer && nixParse ? measure(peer) : null;
  results.push({ name, ours: us, peer: them, ratio: them?.seconds ? us.seconds / them.seconds : null });
}

console.log('case                              ours (s)  peak MB  exit  nix (s)  nix MB  ratio  message');
for (const r of results) {
  const p = r.peer;
  console.log(
    `${r.name.padEnd(33)} ${String(r.ours.seconds).padStart(8)} ${String(r.ours.peakMB).padStart(8)} ${String(r.ours.exit).padStart(5)} ` +
      `${String(p?.seconds ?? '-').padStart(8)} ${String(p?.peakMB ?? '-').padStart(7)} ${(r.ratio === null ? '-' : r.ratio.toFixed(2)).padStart(6)}  ${r.ours.message}`,
  );
}
const within = results.every((r) => r.ours.seconds !== null && r.ours.seconds < 60 && r.ours.peakMB < 1536);
console.log(within ? 'every case ended within 60 s under 1.5 GB' : 'SOME CASE WENT OVER 60 s OR 1.5 GB');
fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
const out = path.join(ROOT, 'bench', 'results', `hostile-sizes-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
fs.writeFileSync(out, JSON.stringify({ node: process.version, results }, null, 2));
console.log(`results: ${path.relative(ROOT, out)}`);
if (!process.argv.includes('--keep')) fs.rmSync(work, { recursive: true, force: true });

// Benchmark of the stateVersion lint:
//  1. the cold CLI (`node dist-bundle lint DIR`, a new process per run) over a whole configuration of a few
//     hundred files: a generated flake (hosts, shared modules, home-manager users, a git base), or the
//     directories given with --dir (e.g. real configurations checked out locally);
//  2. the language server's re-lint latency after a one-character edit in a 2,000-line file: the time from
//     sending didChange to receiving publishDiagnostics for it (the server's 150 ms debounce included and
//     reported apart), and the in-process LintService cost of the same re-lint (no debounce, no JSON-RPC).
//
//   node bench/lint.mjs [--rounds R] [--hosts H] [--modules M] [--dir DIR]... [--keep]
//
// No peer lints stateVersion, so there is nothing to run side by side; the figures stand alone.
// Results: a table on stdout and bench/results/lint-<time>.json.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { ROOT, bundle, median, nodeTimingEnv, quantile, shippedCli } from './lib.mjs';

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : args[i + 1];
};
const dirs = args.flatMap((a, i) => (a === '--dir' ? [path.resolve(args[i + 1])] : []));
const rounds = Number(opt('rounds', '10'));
const hosts = Number(opt('hosts', '30'));
const modules = Number(opt('modules', '200'));

const cli = shippedCli();
const server = await bundle('src/server/main.ts', 'server.js');
const servicePath = await bundle('src/core/lint/service.ts', 'service.js');

const LOCK = JSON.stringify({
  nodes: {
    nixpkgs: {
      locked: { lastModified: 1730000000, owner: 'NixOS', repo: 'nixpkgs', rev: 'a'.repeat(40), type: 'github' },
      original: { owner: 'NixOS', repo: 'nixpkgs', ref: 'nixos-24.11', type: 'github' },
    },
    root: { inputs: { nixpkgs: 'nixpkgs' } },
  },
  root: 'root',
  version: 7,
});

/** A flake with `hosts` hosts, `modules` shared modules and one 2,000-line module; a git repository. */
function generate() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-bench-lint-'));
  const write = (rel, text) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  };
  const shared = [];
  for (let m = 0; m < modules; m++) {
    const lines = ['{ config, lib, pkgs, ... }:', '{'];
    for (let i = 0; i < 40; i++) lines.push(`  environment.etc."m${m}/f${i}".text = "value ${i}";`);
    if (m % 10 === 0) lines.push('  services.postgresql.enable = true;');
    if (m % 25 === 0) lines.push('  services.nextcloud.enable = lib.mkDefault true;');
    lines.push(`  imports = [ ${m + 1 < modules && m % 7 !== 6 ? `./m${m + 1}.nix` : ''} ];`, '}');
    write(`modules/m${m}.nix`, lines.join('\n') + '\n');
    shared.push(`./modules/m${m}.nix`);
  }
  const big = ['{ config, lib, pkgs, ... }:', '{'];
  for (let i = 0; big.length < 1998; i++) {
    big.push(`  environment.etc."big/f${i}" = { text = "line ${i}"; mode = "0644"; };`);
    if (i % 100 === 0) big.push(`  users.users.u${i} = { isNormalUser = true; extraGroups = [ "wheel" ]; };`);
  }
  big.push('}');
  write('modules/big.nix', big.join('\n') + '\n');
  const hostEntries = [];
  for (let h = 0; h < hosts; h++) {
    write(
      `hosts/h${h}/hardware-configuration.nix`,
      `{ ... }: { fileSystems."/".device = "/dev/disk/by-label/h${h}"; }\n`,
    );
    write(
      `hosts/h${h}/configuration.nix`,
      `{ pkgs, ... }:\n{\n  imports = [ ./hardware-configuration.nix ../../modules/m${(h * 7) % modules}.nix ];\n  networking.hostName = "h${h}";\n  system.stateVersion = "${h % 2 ? '23.11' : '24.05'}";\n}\n`,
    );
    write(`home/u${h}.nix`, `{ pkgs, ... }: { home.stateVersion = "24.05"; programs.git.enable = true; }\n`);
    hostEntries.push(
      `    nixosConfigurations.h${h} = nixpkgs.lib.nixosSystem { modules = [ ./hosts/h${h}/configuration.nix ./modules/big.nix home-manager.nixosModules.home-manager { home-manager.users.u${h} = import ./home/u${h}.nix; } ]; };`,
    );
  }
  write('flake.nix', `{\n  outputs = { nixpkgs, home-manager, ... }: {\n${hostEntries.join('\n')}\n  };\n}\n`);
  write('flake.lock', LOCK);
  const git = (...a) =>
    spawnSync('git', ['-C', dir, ...a], {
      env: {
        ...process.env,
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_AUTHOR_NAME: 'b',
        GIT_AUTHOR_EMAIL: 'b@b',
        GIT_COMMITTER_NAME: 'b',
        GIT_COMMITTER_EMAIL: 'b@b',
      },
    });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'bench');
  // One uncommitted stateVersion change, so the git comparison has work to do.
  write(
    'hosts/h0/configuration.nix',
    fs.readFileSync(path.join(dir, 'hosts/h0/configuration.nix'), 'utf8').replace('24.05', '24.11'),
  );
  return dir;
}

function countNix(dir) {
  let n = 0;
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.git' || e.name === 'node_modules') continue;
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith('.nix')) n++;
    }
  };
  walk(dir);
  return n;
}

function timeCli(dir) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, 'lint', dir, '--format', 'json'], {
    env: nodeTimingEnv(process.env),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0 && r.status !== 1) throw new Error(`lint exited ${r.status}: ${r.stderr}`);
  return { ms, diagnostics: JSON.parse(r.stdout).length };
}

const generated = generate();
const targets = [generated, ...dirs];
const results = { cli: [], server: null, service: null };
for (const dir of targets) {
  timeCli(dir); // warm the page cache, not the process
  const times = [];
  let diagnostics = 0;
  for (let i = 0; i < rounds; i++) {
    const r = timeCli(dir);
    times.push(r.ms);
    diagnostics = r.diagnostics;
  }
  results.cli.push({
    dir: dir === generated ? '(generated flake)' : dir,
    files: countNix(dir),
    diagnostics,
    medianMs: median(times),
    p90Ms: quantile(times, 0.9),
  });
}

// Language server: one-character edits in the 2,000-line module.
const { createMessageConnection, StreamMessageReader, StreamMessageWriter } = require(
  path.join(ROOT, 'node_modules/vscode-jsonrpc/node'),
);
const child = spawn(process.execPath, [server, '--stdio'], {
  stdio: ['pipe', 'pipe', 'inherit'],
  env: nodeTimingEnv(process.env),
});
const conn = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
let waiting;
const bigPath = path.join(generated, 'modules/big.nix');
const uri = pathToFileURL(bigPath).href;
conn.onNotification('textDocument/publishDiagnostics', (p) => {
  if (p.uri === uri && waiting) waiting();
});
conn.listen();
await conn.sendRequest('initialize', {
  processId: process.pid,
  rootUri: pathToFileURL(generated).href,
  capabilities: {},
  initializationOptions: { base: 'HEAD', runDir: '' },
});
await conn.sendNotification('initialized', {});
let text = fs.readFileSync(bigPath, 'utf8');
const published = () => new Promise((resolve) => (waiting = resolve));
let p = published();
await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'nix', version: 1, text } });
await p;
const lspTimes = [];
for (let i = 0; i < rounds * 2; i++) {
  text = text.replace('line 7"', i % 2 ? 'line 7"' : 'line 8"');
  p = published();
  const t0 = process.hrtime.bigint();
  await conn.sendNotification('textDocument/didChange', {
    textDocument: { uri, version: i + 2 },
    contentChanges: [{ text }],
  });
  await p;
  lspTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
await conn.sendRequest('shutdown');
await conn.sendNotification('exit');
conn.dispose();
results.server = {
  file: 'modules/big.nix',
  lines: text.split('\n').length,
  debounceMs: 150,
  medianMs: median(lspTimes),
  p90Ms: quantile(lspTimes, 0.9),
};

// The same re-lint in process, without debounce or JSON-RPC.
const { LintService } = require(servicePath);
const service = new LintService({ base: 'HEAD', runDir: '' });
service.setOverlay(bigPath, text);
await service.lintProjectOf(bigPath);
const inProc = [];
for (let i = 0; i < rounds * 2; i++) {
  text = text.replace('line 7"', i % 2 ? 'line 7"' : 'line 8"');
  service.setOverlay(bigPath, text);
  const t0 = process.hrtime.bigint();
  await service.lintProjectOf(bigPath);
  inProc.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
results.service = { medianMs: median(inProc), p90Ms: quantile(inProc, 0.9) };

const fmt = (n) => `${n.toFixed(1)} ms`;
process.stdout.write(
  `\nnixos-generations lint, cold CLI (${rounds} runs each, node ${process.version}, ${os.cpus().length} CPUs)\n`,
);
for (const r of results.cli)
  process.stdout.write(
    `  ${r.dir}: ${r.files} .nix files, ${r.diagnostics} diagnostics: median ${fmt(r.medianMs)}, p90 ${fmt(r.p90Ms)}\n`,
  );
process.stdout.write(
  `\nlanguage server, one-character edit in a ${results.server.lines}-line file of the generated flake (${rounds * 2} edits)\n`,
);
process.stdout.write(
  `  didChange -> publishDiagnostics: median ${fmt(results.server.medianMs)}, p90 ${fmt(results.server.p90Ms)} (includes the ${results.server.debounceMs} ms debounce)\n`,
);
process.stdout.write(
  `  re-lint in process (LintService): median ${fmt(results.service.medianMs)}, p90 ${fmt(results.service.p90Ms)}\n`,
);
fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
const outFile = path.join(ROOT, 'bench/results', `lint-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
fs.writeFileSync(
  outFile,
  JSON.stringify({ date: new Date().toISOString(), node: process.version, ...results }, null, 2) + '\n',
);
process.stdout.write(`\n${path.relative(process.cwd(), outFile)}\n`);
if (args.includes('--keep')) process.stdout.write(`kept ${generated}\n`);
else fs.rmSync(generated, { recursive: true, force: true });

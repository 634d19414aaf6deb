#!/usr/bin/env node
// Parse benchmark: the shipped command line, `node dist/cli.js parse FILE...` (what a user types), against one
// `nix-instantiate --parse FILE...` process over the same files, alternated run by run (ABBA), both with stdout
// sent to /dev/null; then, in this process, the time to re-parse a 2,000-line file after a one-character edit
// (what the language server does per keystroke).
//
//   node bench/parse.mjs [--rounds N] [--keep-node-env] [DIR_OR_FILE...]
//
// Default files: /tmp/hm when it exists (a `git archive` of home-manager, ~3,500 files; never committed), else a
// generated corpus of 3,500 modules in home-manager's shape plus the conformance cases Nix accepts, so the bench
// runs anywhere (CI included). Only files Nix 2.8 accepts take part (one Nix process must get through all of
// them); both sides get the same relative paths, run from the corpus root, as `find . -name '*.nix'` gives them.
// Fair to Nix: one process for all the files (as a user would run it), not one per file.
// NODE_EXTRA_CA_CERTS (set on some machines for a proxy) makes every Node process parse a CA bundle before its
// first line (30-60 ms here); it and NODE_OPTIONS are removed from the timed processes' environment unless
// --keep-node-env is given.
// Results: stdout and bench/results/parse-<time>.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { ROOT, alternate, bundle, nodeTimingEnv, shippedCli, summarize } from './lib.mjs';

const args = process.argv.slice(2);
let rounds = 7;
let keepNodeEnv = false;
const inputs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--rounds') rounds = Number(args[++i]);
  else if (args[i] === '--keep-node-env') keepNodeEnv = true;
  else inputs.push(path.resolve(args[i]));
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

/** 3,500 modules shaped like home-manager's (options, mkIf config, strings with interpolation, lists, lets). */
function generateCorpus(dir, count = 3500) {
  for (let i = 0; i < count; i++) {
    const group = `modules/programs/g${Math.floor(i / 100)}`;
    mkdirSync(path.join(dir, group), { recursive: true });
    const name = `prog${i}`;
    const extra = [];
    for (let k = 0; k < (i % 7) + 1; k++) {
      extra.push(
        `      option${k} = mkOption {`,
        `        type = types.${k % 2 === 0 ? 'str' : 'nullOr types.int'};`,
        `        default = ${k % 2 === 0 ? `"v${k}"` : 'null'};`,
        `        description = "Option ${k} of ${name}, see <https://example.org/${name}#${k}>.";`,
        '      };',
      );
    }
    const text = [
      '{ config, lib, pkgs, ... }:',
      '',
      'with lib;',
      '',
      'let',
      `  cfg = config.programs.${name};`,
      '  iniFormat = pkgs.formats.ini { };',
      `  toConfig = attrs: concatStringsSep "\\n" (mapAttrsToList (n: v: "\${n} = \${toString v}") attrs);`,
      'in {',
      `  meta.maintainers = [ maintainers.someone ];`,
      '',
      `  options.programs.${name} = {`,
      `    enable = mkEnableOption "${name}";`,
      `    package = mkPackageOption pkgs "${name}" { };`,
      '    settings = mkOption {',
      '      type = types.attrsOf (types.oneOf [ types.str types.int types.bool ]);',
      '      default = { };',
      `      example = literalExpression ''`,
      '        {',
      `          theme = "dark";`,
      '          fontSize = 12;',
      '        }',
      `      '';`,
      `      description = ''`,
      `        Configuration written to {file}\`$XDG_CONFIG_HOME/${name}/config\`.`,
      `      '';`,
      '    };',
      '    extra = {',
      ...extra,
      '    };',
      '  };',
      '',
      '  config = mkIf cfg.enable {',
      '    home.packages = [ cfg.package ];',
      `    xdg.configFile."${name}/config" = mkIf (cfg.settings != { }) {`,
      '      text = toConfig cfg.settings + "\\n";',
      '    };',
      `    home.sessionVariables.${name.toUpperCase()}_HOME = "\${config.xdg.configHome}/${name}";`,
      `    assertions = [ { assertion = cfg.settings ? theme -> cfg.settings.theme != ""; message = "empty theme"; } ];`,
      '  };',
      '}',
      '',
    ].join('\n');
    writeFileSync(path.join(dir, group, `${name}.nix`), text);
  }
}

const nixEnv = { ...process.env, NIX_REMOTE: 'dummy://', NIX_PATH: '', NIX_CONFIG: 'build-users-group =' };
const timedEnv = keepNodeEnv ? process.env : nodeTimingEnv(process.env);
const cli = shippedCli();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'parse-bench-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

let corpusRoot;
if (inputs.length === 0 && existsDir('/tmp/hm')) inputs.push('/tmp/hm');
if (inputs.length === 0) {
  corpusRoot = path.join(tmp, 'corpus');
  generateCorpus(corpusRoot);
  // plus the hand-made grammar corners Nix accepts
  const cases = path.join(ROOT, 'test/conformance/cases');
  mkdirSync(path.join(corpusRoot, 'cases'));
  for (const f of readdirSync(cases).filter((f) => f.startsWith('ok-')))
    writeFileSync(path.join(corpusRoot, 'cases', f), readFileSync(path.join(cases, f)));
  inputs.push(corpusRoot);
} else {
  // the deepest directory holding every input: the two commands run there, with paths relative to it
  corpusRoot = inputs
    .map((p) => (existsDir(p) ? p : path.dirname(p)))
    .reduce((a, b) => {
      while (!`${b}/`.startsWith(`${a}/`)) a = path.dirname(a);
      return a;
    });
}

// The file set: what Nix 2.8 accepts (our own verdict first, then Nix confirms).
const { parse, checkScope, LineIndex } = createRequire(import.meta.url)(
  await bundle('bench/parse-entry.ts', 'parser.cjs'),
);
let files = [...new Set(inputs.flatMap(nixFiles))]
  .sort()
  .filter((f) => {
    const text = readFileSync(f, 'utf8');
    if (text.includes('|>') || text.includes('<|')) return false;
    const { root: tree, errors } = parse(text);
    return errors.length === 0 && checkScope(tree, { merge: 'nix-2.8', anyDunder: false }).length === 0;
  })
  .map((f) => path.relative(corpusRoot, f));
for (;;) {
  const check = spawnSync('nix-instantiate', ['--parse', ...files], {
    cwd: corpusRoot,
    env: nixEnv,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (check.status === 0) break;
  const at = /^\s*at (.+):\d+:\d+:\s*$/m.exec(check.stderr);
  const rel = at && path.relative(corpusRoot, at[1]);
  if (!rel || !files.includes(rel)) throw new Error(`nix-instantiate failed: ${check.stderr.slice(0, 500)}`);
  console.log(`(left out, Nix rejects it: ${rel})`);
  files = files.filter((f) => f !== rel);
}
const bytes = files.reduce((n, f) => n + statSync(path.join(corpusRoot, f)).size, 0);
const mb = bytes / 1e6;
console.log(`files: ${files.length}, ${mb.toFixed(2)} MB (${inputs.join(', ')})`);
console.log(
  `node ${process.version}, ${os.cpus().length} CPUs, load average ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);

const OURS = 'node dist/cli.js parse FILE...';
const NIX = 'nix-instantiate --parse FILE...';
const times = alternate(
  {
    [NIX]: { argv: ['nix-instantiate', '--parse', ...files], env: nixEnv, cwd: corpusRoot, discard: true },
    [OURS]: { argv: [process.execPath, cli, 'parse', ...files], env: timedEnv, cwd: corpusRoot, discard: true },
  },
  rounds,
);
times[OURS].wall.forEach((ms, r) =>
  console.log(
    `round ${r + 1}: ours ${ms.toFixed(0)} ms, nix ${times[NIX].wall[r].toFixed(0)} ms, ours/nix ${(ms / times[NIX].wall[r]).toFixed(2)}`,
  ),
);
const summary = summarize(times, NIX);
console.log(
  `median of ${rounds} alternated runs, whole processes (wall, and CPU of all threads)${keepNodeEnv ? '; NODE_EXTRA_CA_CERTS/NODE_OPTIONS kept' : '; without NODE_EXTRA_CA_CERTS/NODE_OPTIONS'}:`,
);
for (const line of summary.lines) console.log(line);

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
const reparse = [];
let text = big;
for (let i = 0; i < 200; i++) {
  const at = text.indexOf('8', (i * 997) % text.length);
  const p = at < 0 ? text.indexOf('8') : at;
  text = `${text.slice(0, p)}${i % 2 === 0 ? '9' : '8'}${text.slice(p + 1)}`;
  const t0 = process.hrtime.bigint();
  const result = parse(text);
  new LineIndex(text);
  reparse.push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (result.errors.length !== 0) throw new Error('the edited file should parse');
}
reparse.sort((x, y) => x - y);
console.log(
  `re-parse after a one-character edit, ${lines} lines (${(big.length / 1024).toFixed(0)} KiB), parse + LineIndex: median ${reparse[100].toFixed(2)} ms, p95 ${reparse[190].toFixed(2)} ms, max ${reparse[199].toFixed(2)} ms`,
);

const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  loadavg: os.loadavg(),
  keepNodeEnv,
  inputs: corpusRoot.startsWith(tmp) ? ['(generated corpus)'] : inputs,
  files: files.length,
  bytes,
  rounds: times,
  medians: summary.data,
  reparse: { lines, bytes: big.length, medianMs: reparse[100], p95Ms: reparse[190], maxMs: reparse[199] },
};
mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
const out = path.join(ROOT, `bench/results/parse-${result.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`results: ${path.relative(process.cwd(), out)}`);

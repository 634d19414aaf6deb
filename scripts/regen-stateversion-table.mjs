#!/usr/bin/env node
// Regenerates the table of stateVersion gates from a local nixpkgs checkout, so the rule database in
// src/core/lint/data/gates.ts can follow nixpkgs.
//
//   node scripts/regen-stateversion-table.mjs /path/to/nixpkgs [--out FILE] [--check]
//
// It reads every nixos/modules/**/*.nix, finds comparisons of a stateVersion with a "YY.MM" literal
// (versionAtLeast / versionOlder / versions.isGe / string `<` `>=` …), and writes one row per gate:
// module, line, comparison, threshold and the option it sits under (a heuristic: the nearest option
// declaration or attribute above). Then it compares the thresholds with the curated database and lists
// gates nixpkgs has that the database lacks, and database entries nixpkgs no longer has.
// Each row also carries the `then`/`else` branches when the comparison is an `if`, and for a let-bound flag
// the attributes that read it (`usedBy`), or for `opt = let flag = …; in mkOption` the option and `flag`.
// Comments and `defaultText` strings are not gates.
// Default output: src/core/lint/data/nixpkgs-gates.json. --check: exit 1 when the two disagree.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function usage(code) {
  process.stderr.write('usage: node scripts/regen-stateversion-table.mjs NIXPKGS_DIR [--out FILE] [--check]\n');
  process.exit(code);
}

const args = process.argv.slice(2);
let nixpkgs;
let out = path.join(ROOT, 'src/core/lint/data/nixpkgs-gates.json');
let check = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--out') out = path.resolve(args[++i] ?? usage(2));
  else if (a === '--check') check = true;
  else if (a === '--help' || a === '-h') usage(0);
  else if (!nixpkgs) nixpkgs = path.resolve(a);
  else usage(2);
}
if (!nixpkgs) usage(2);
const modulesDir = path.join(nixpkgs, 'nixos', 'modules');
if (!fs.existsSync(modulesDir)) {
  process.stderr.write(`${modulesDir}: not a nixpkgs checkout (no nixos/modules)\n`);
  process.exit(2);
}

function* walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile() && e.name.endsWith('.nix')) yield p;
  }
}

const SV = String.raw`(?:config\.system\.stateVersion|config\.home\.stateVersion|[\w.]*stateVersion)`;
const VER = String.raw`"(\d\d\.\d\d)"`;
// Whole-file patterns: `\s` also spans a line break, so a comparison nixfmt split over two lines is found.
const PATTERNS = [
  // versionAtLeast config.system.stateVersion "24.05" (lib., versions., builtins. prefixes allowed)
  { re: new RegExp(String.raw`(versionAtLeast|versionOlder|isGe|isLt)\s+${SV}\s+${VER}`, 'g'), op: (m) => m[1], at: 2 },
  // versionOlder "24.05" config.system.stateVersion (reversed arguments)
  {
    re: new RegExp(String.raw`(versionAtLeast|versionOlder)\s+${VER}\s+${SV}`, 'g'),
    op: (m) => `${m[1]} (reversed)`,
    at: 2,
  },
  // (builtins.compareVersions config.system.stateVersion "24.05") < 0
  {
    re: new RegExp(String.raw`compareVersions\s+${SV}\s+${VER}(?:\s*\)?\s*(<=|>=|==|!=|<|>)\s*(-?\d))?`, 'g'),
    op: (m) => (m[2] ? `compareVersions ${m[2]} ${m[3]}` : 'compareVersions'),
    at: 1,
  },
  // config.system.stateVersion >= "24.05" / < "24.05"
  { re: new RegExp(String.raw`${SV}\s*(<=|>=|<|>)\s*${VER}`, 'g'), op: (m) => m[1], at: 2 },
];

/**
 * Attribute names that say where a value sits, not what it is: the option path skips them and looks further
 * up. `base` is the local name nixpkgs gives a chained default before wrapping it in mkDefault.
 */
const NOT_A_NAME = new Set([
  'default',
  'defaultText',
  'description',
  'example',
  'type',
  'apply',
  'assertion',
  'message',
  'base',
  'value',
  'mkThrow',
  'mkWarn',
  'options',
  'config',
]);
const BINDING = /^(\s*)([A-Za-z_][\w'-]*(?:\.(?:[A-Za-z_][\w'-]*|"[^"]*"))*)\s*=(?!=)/;

function indentOf(line) {
  return /^\s*/.exec(line)[0].length;
}

/**
 * The option (attribute path) a line sits under, read from indentation: each enclosing `name =` with less
 * indentation than the one below it, outermost first, without `options.`/`config.` and the NOT_A_NAME words.
 * nixfmt indents every nested attribute, so this is the path a reader would name.
 */
function attrPath(lines, index) {
  const parts = [];
  let cur;
  const own = BINDING.exec(lines[index]);
  if (own) {
    if (!NOT_A_NAME.has(own[2])) parts.unshift(own[2]);
    cur = own[1].length;
  } else cur = indentOf(lines[index]);
  for (let i = index - 1; i >= 0 && cur > 0; i--) {
    const m = BINDING.exec(lines[i]);
    if (!m || m[1].length >= cur) continue;
    cur = m[1].length;
    if (!NOT_A_NAME.has(m[2])) parts.unshift(m[2]);
  }
  const p = parts
    .join('.')
    .replace(/"/g, '')
    .replace(/^(?:options|config)\./, '');
  return p || null;
}

/** Lines that are documentation, not code: comments and `defaultText`/`literalExpression` strings. */
function docLines(lines) {
  const doc = new Array(lines.length).fill(false);
  let inDoc = false;
  lines.forEach((line, i) => {
    const quotes = (line.match(/''(?!['$\\])/g) ?? []).length;
    if (inDoc) {
      doc[i] = true;
      if (quotes % 2 === 1) inDoc = false;
      return;
    }
    if (/^\s*#/.test(line)) doc[i] = true;
    else if (/\b(?:defaultText|literalExpression|literalMD)\b/.test(line)) {
      doc[i] = true;
      if (quotes % 2 === 1) inDoc = true;
    }
  });
  return doc;
}

/** A branch of `if … then A else B`, on one line, shortened. */
function branch(text) {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 80 ? `${t.slice(0, 77)}...` : t;
}

/** End of one expression in `s` from `i`: a depth-0 `else`, `;`, closing bracket, or (`stopAtIn`) ` in`. */
function exprEnd(s, i, stopAtElse) {
  let depth = 0;
  let str = false;
  for (; i < s.length; i++) {
    const c = s[i];
    if (c === '"' && s[i - 1] !== '\\') str = !str;
    if (str) continue;
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) {
      if (depth === 0) return i;
      depth--;
    } else if (depth === 0 && c === ';') return i;
    else if (depth === 0 && /\s/.test(c) && /^\s(?:else|in)\s/.test(s.slice(i, i + 6))) {
      if (stopAtElse || s.slice(i + 1, i + 3) === 'in') return i;
    }
  }
  return i;
}

/**
 * What the comparison selects in `if <comparison> then A else B`: `then` is A, `else` is B unless B is the
 * next `if` of a chain (then the next comparison carries it). Empty when the comparison is not an `if`.
 */
function branches(text, from) {
  const rest = text.slice(from, from + 800);
  const t = /^\s*\)?\s*then\s/.exec(rest);
  if (!t) return {};
  const thenEnd = exprEnd(rest, t[0].length, true);
  const out = { then: branch(rest.slice(t[0].length, thenEnd)) };
  const e = /^\s*else\s/.exec(rest.slice(thenEnd));
  if (!e) return out;
  const elseStart = thenEnd + e[0].length;
  if (/^\s*if\s/.test(rest.slice(elseStart))) return out;
  out.else = branch(rest.slice(elseStart, exprEnd(rest, elseStart, false)));
  return out;
}

const gates = [];
for (const file of walk(modulesDir)) {
  const text = fs.readFileSync(file, 'utf8');
  if (!text.includes('stateVersion') && !text.includes('mkStateRevisionOption')) continue;
  const lines = text.split('\n');
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const lineOf = (index) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const doc = docLines(lines);
  const module = path.relative(nixpkgs, file).split(path.sep).join('/');
  const found = [];
  for (const { re, op, at } of PATTERNS) {
    re.lastIndex = 0;
    for (const m of text.matchAll(re)) {
      const line = lineOf(m.index);
      if (doc[line]) continue;
      const before = lines[line].slice(0, m.index - lineStarts[line]);
      if (/#/.test(before.replace(/"[^"]*"/g, ''))) continue; // after a `#` comment on the same line
      let near = attrPath(lines, line);
      let flag;
      // `option = let cond = versionAtLeast …; in mkOption { … }`: the gate belongs to the option.
      const own = BINDING.exec(lines[line]);
      if (own) {
        let up = line - 1;
        while (up >= 0 && (lines[up].trim() === '' || indentOf(lines[up]) >= own[1].length)) up--;
        if (up >= 0 && /(?:^|[=\s])let\s*$/.test(lines[up])) {
          const outer = /^\s*let\s*$/.test(lines[up])
            ? attrPath(lines, up)
            : BINDING.exec(lines[up]) && attrPath(lines, up);
          if (outer) {
            flag = own[2];
            near = outer;
          }
        }
      }
      const gate = { module, line: line + 1, comparison: op(m), threshold: m[at], near };
      if (flag) gate.flag = flag;
      Object.assign(gate, branches(text, m.index + m[0].length));
      // A let-bound flag (`useLegacyStorage = versionOlder …;`, maybe over several lines): name the
      // attributes that read it.
      if (near && !near.includes('.')) {
        let def = line;
        while (def > 0 && BINDING.exec(lines[def])?.[2] !== near) def--;
        const b = BINDING.exec(lines[def]);
        const between = b ? text.slice(lineStarts[def] + b[0].length, m.index) : '';
        if (b && b[2] === near && /^[\s(!]*(?:lib\.|builtins\.|versions\.)*$/.test(between)) {
          const word = new RegExp(String.raw`(?<![\w.'-])${near}(?![\w'-])`);
          const used = new Set();
          lines.forEach((l, i) => {
            if ((i >= def && i <= line) || doc[i] || !word.test(l)) return;
            const p = attrPath(lines, i);
            if (p && p !== near) used.add(p);
          });
          if (used.size) gate.usedBy = [...used].slice(0, 8);
        }
      }
      found.push(gate);
    }
  }
  // `stateRevision = utils.mkStateRevisionOption { migrations."26.05" = …; }`: the option's default follows
  // system.stateVersion through the migrations table, and the module reads `cfg.stateRevision >= N` instead of
  // comparing stateVersion itself; each migration release is a threshold.
  for (const m of text.matchAll(/mkStateRevisionOption\b/g)) {
    const line = lineOf(m.index);
    if (doc[line]) continue;
    const near = attrPath(lines, line);
    const rest = text.slice(m.index, exprEnd(text, m.index + m[0].length, false));
    const revisions = [];
    lines.forEach((l, i) => {
      const r = /stateRevision\s*(>=|>|<|<=|==)\s*(\d+)/.exec(l);
      if (r && !doc[i]) revisions.push({ line: i + 1, test: `${r[1]} ${r[2]}`, near: attrPath(lines, i) });
    });
    for (const mig of rest.matchAll(/"(\d\d\.\d\d)"\s*=/g)) {
      const gate = {
        module,
        line: lineOf(m.index + mig.index) + 1,
        comparison: 'stateRevision',
        threshold: mig[1],
        near,
      };
      if (revisions.length)
        gate.usedBy = [...new Set(revisions.map((r) => `${r.near ?? '?'} (${r.test})`))].slice(0, 8);
      found.push(gate);
    }
  }
  found.sort((a, b) => a.line - b.line);
  gates.push(...found);
}

const git = spawnSync('git', ['-C', nixpkgs, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
const versionFile = path.join(nixpkgs, 'lib', '.version');
const table = {
  _about: 'Generated by scripts/regen-stateversion-table.mjs from a nixpkgs checkout; do not edit by hand.',
  nixpkgs: {
    commit: git.status === 0 ? git.stdout.trim() : null,
    release: fs.existsSync(versionFile) ? fs.readFileSync(versionFile, 'utf8').trim() : null,
  },
  count: gates.length,
  gates,
};
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, `${JSON.stringify(table, null, 2)}\n`);
process.stdout.write(
  `${gates.length} stateVersion gates in ${new Set(gates.map((g) => g.module)).size} modules -> ${path.relative(process.cwd(), out)}\n`,
);

// Compare with the curated database (read as text: module paths and thresholds of each entry).
const dbText = fs.readFileSync(path.join(ROOT, 'src/core/lint/data/gates.ts'), 'utf8');
const curated = new Map();
for (const block of dbText.split(/\n {2}\{\n(?: {4}\/\/[^\n]*\n)* {4}id: /).slice(1)) {
  const mod = /module: '([^']+)'/.exec(block)?.[1];
  if (!mod || !mod.startsWith('nixos/')) continue;
  // Each chain holds for one era: compare the chain in force in this checkout's release (lib/.version), or
  // the newest chain when the tree does not say, so older eras' thresholds are not reported as gone.
  const chains = block
    .split(/\n\s*era: '/)
    .slice(1)
    .map((c) => ({ era: c.slice(0, 5), from: [...c.matchAll(/from: '(\d\d\.\d\d)'/g)].map((m) => m[1]) }));
  const inForce = chains.filter((c) => !table.nixpkgs.release || c.era <= table.nixpkgs.release.slice(0, 5)).pop();
  if (!inForce) continue;
  const set = curated.get(mod) ?? new Set();
  for (const t of inForce.from) set.add(t);
  curated.set(mod, set);
}
// Gates left out of the database on purpose (README.md says why): reported as such, never as missing.
const excludedFile = path.join(ROOT, 'src/core/lint/data/excluded-gates.json');
const excluded = fs.existsSync(excludedFile) ? JSON.parse(fs.readFileSync(excludedFile, 'utf8')).gates : [];
const isExcluded = (g) => excluded.find((e) => e.module === g.module && e.threshold === g.threshold);
const found = new Map();
for (const g of gates) {
  const set = found.get(g.module) ?? new Set();
  set.add(g.threshold);
  found.set(g.module, set);
}
const describe = (g) =>
  `${g.module}:${g.line} ${g.comparison} "${g.threshold}"${g.near ? ` (${g.near})` : ''}` +
  `${g.then !== undefined ? ` then ${g.then}` : ''}${g.else !== undefined ? ` else ${g.else}` : ''}`;
const missing = [];
const known = [];
for (const g of gates) {
  if (curated.get(g.module)?.has(g.threshold)) continue;
  const ex = isExcluded(g);
  if (ex) known.push(`${describe(g)}: ${ex.reason}`);
  else missing.push(describe(g));
}
// A module the tree does not have at all is told apart from a threshold the module no longer has: the
// first is a partial tree, a rename or a removal; the second a gate that moved or went away.
const gone = [];
const absent = [];
for (const [mod, set] of curated) {
  const inTree = fs.existsSync(path.join(nixpkgs, mod));
  for (const t of set) {
    if (found.get(mod)?.has(t)) continue;
    (inTree ? gone : absent).push(`${mod} "${t}"`);
  }
}
const list = (title, items) => {
  if (items.length) process.stdout.write(`\n${title}:\n  ${[...new Set(items)].join('\n  ')}\n`);
};
list('In nixpkgs, not in the database (review and add to src/core/lint/data/gates.ts)', missing);
list('In nixpkgs, left out of the database on purpose (src/core/lint/data/excluded-gates.json)', known);
list('In the database, not found in this nixpkgs module (gone, moved, or an older era)', gone);
list('In the database, module not in this tree (partial tree, renamed or removed module)', absent);
if (!missing.length && !gone.length && !absent.length) process.stdout.write('The database and nixpkgs agree.\n');
process.exit(check && (missing.length || gone.length || absent.length) ? 1 : 0);

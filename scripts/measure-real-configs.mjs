#!/usr/bin/env node
// Measures what ships on a folder of NixOS configuration checkouts (one repository per subdirectory, fetched
// by hand; never committed): for each, `node dist/cli.js pin --dry-run` (pinned / already pinned / refused with
// its reason) and `node dist/cli.js lint --base '' --format json` (errors and warnings), then prints a Markdown
// table and the totals. Nothing in the checkouts is written.
//
//   npm run build && node scripts/measure-real-configs.mjs /tmp/real-configs [--json]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'cli.js');
const args = process.argv.slice(2);
const folder = args.find((a) => !a.startsWith('--'));
if (!folder || !existsSync(cli)) {
  console.error('usage: npm run build && node scripts/measure-real-configs.mjs FOLDER [--json]');
  process.exit(2);
}
const env = { ...process.env };
delete env.NODE_OPTIONS;
delete env.NODE_EXTRA_CA_CERTS;

function run(argv) {
  const r = spawnSync(process.execPath, [cli, ...argv], {
    encoding: 'utf8',
    env,
    timeout: 120_000,
    maxBuffer: 64 << 20,
  });
  return { code: r.status ?? -1, out: r.stdout ?? '', err: r.stderr ?? '' };
}

/** pinned (an edit is planned), recognised (already pinned), refused (with the first line of the reason). */
function pin(dir) {
  const r = run(['pin', '--dry-run', dir]);
  if (r.code === 0 && r.out.trim() !== '') {
    const added = r.out.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++')).length;
    const files = r.out.split('\n').filter((l) => l.startsWith('+++ ')).length;
    return { outcome: 'pinned', detail: `${files} file(s), +${added} lines` };
  }
  if (r.code === 0) return { outcome: 'recognised', detail: 'already pinned' };
  const first = r.err.split('\n').find((l) => l.trim() !== '') ?? `exit ${r.code}`;
  const classic = /not a flake/.test(r.err);
  return { outcome: classic ? 'classic' : 'refused', detail: first.slice(0, 160) };
}

function lint(dir) {
  const r = run(['lint', '--base', '', '--format', 'json', dir]);
  try {
    const list = JSON.parse(r.out);
    const count = (s) => list.filter((d) => d.severity === s).length;
    const codes = [...new Set(list.filter((d) => d.severity === 'error').map((d) => d.code))];
    return { errors: count('error'), warnings: count('warning'), codes, exit: r.code };
  } catch {
    return { errors: NaN, warnings: NaN, codes: [`lint failed: ${r.err.split('\n')[0]}`], exit: r.code };
  }
}

const rows = [];
for (const name of readdirSync(folder).sort()) {
  const dir = path.join(folder, name);
  if (!statSync(dir).isDirectory()) continue;
  const flake = existsSync(path.join(dir, 'flake.nix'));
  rows.push({ name, flake, pin: pin(dir), lint: lint(dir) });
}

if (args.includes('--json')) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  console.log('| repository | kind | pin | detail | lint errors | lint warnings |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    const detail = r.pin.detail.replace(/\|/g, '\\|');
    const errs = r.lint.errors + (r.lint.codes.length ? ` (${r.lint.codes.join(', ')})` : '');
    console.log(
      `| ${r.name} | ${r.flake ? 'flake' : 'classic'} | ${r.pin.outcome} | ${detail} | ${errs} | ${r.lint.warnings} |`,
    );
  }
  const flakes = rows.filter((r) => r.flake);
  const ok = flakes.filter((r) => r.pin.outcome === 'pinned' || r.pin.outcome === 'recognised').length;
  const classic = rows.filter((r) => !r.flake);
  const sum = (list, k) => list.reduce((a, r) => a + (Number.isNaN(r.lint[k]) ? 0 : r.lint[k]), 0);
  console.log('');
  console.log(
    `flakes: ${flakes.length}, pinned or recognised: ${ok} (${flakes.length ? Math.round((100 * ok) / flakes.length) : 0}%), refused: ${flakes.length - ok}`,
  );
  console.log(
    `lint: ${sum(flakes, 'errors')} errors / ${sum(flakes, 'warnings')} warnings on flakes; ${sum(classic, 'errors')} errors / ${sum(classic, 'warnings')} warnings on ${classic.length} classic configurations`,
  );
}

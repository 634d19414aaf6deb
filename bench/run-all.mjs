// `npm run bench`: every benchmark in turn, each side by side with its peer tool in one process run
// (parse: nix-instantiate --parse; list: nix-env --list-generations; diff: nix store diff-closures; lint: no peer;
// eval: nix eval of the host's stateVersion).
// Each writes a table to stdout and its JSON to bench/results/. Extra arguments go to every benchmark, e.g.
// `npm run bench -- --rounds 5`. `--only parse,diff` picks some. The 1,000-generation list fixture takes minutes
// to build the first time (it is cached in $NIXGEN_BENCH_CACHE afterwards).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const all = ['parse', 'list', 'diff', 'lint', 'eval'];
const args = process.argv.slice(2);
const onlyAt = args.indexOf('--only');
const chosen = onlyAt >= 0 ? args[onlyAt + 1].split(',') : all;
const passThrough = onlyAt >= 0 ? args.filter((_, i) => i !== onlyAt && i !== onlyAt + 1) : args;

let failed = 0;
for (const name of chosen) {
  if (!all.includes(name)) {
    console.error(`bench: unknown benchmark ${name} (one of ${all.join(', ')})`);
    process.exit(2);
  }
  console.log(`\n=== bench/${name}.mjs ${passThrough.join(' ')}`);
  const result = spawnSync(process.execPath, [path.join(here, `${name}.mjs`), ...passThrough], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`bench/${name}.mjs failed (exit ${result.status ?? result.signal})`);
    failed++;
  }
}
process.exit(failed === 0 ? 0 : 1);

/** What bench/parse.mjs bundles (with esbuild) and loads: the parser as shipped, and the process runner. */
export { parse, checkScope, LineIndex } from '../src/core/nix';
export { runProcess } from '../src/core/exec/process';

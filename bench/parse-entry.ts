/** What bench/parse.mjs bundles (with esbuild) and loads for its in-process figures: the parser as shipped. */
export { parse, checkScope, LineIndex } from '../src/core/nix';

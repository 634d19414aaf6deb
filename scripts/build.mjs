// Bundles the extension, the language server and the CLI with esbuild, `vscode` external. The CLI's entry holds
// `list` (the command people run most, kept small so it starts fast); every other command is its own bundle,
// dist/cli-<name>.js, loaded only when it runs. execa (ESM-only, ~300 KB bundled) is dist/execa.js, one CommonJS
// file that every bundle requires on its first process run (src/core/exec/process.ts), so no bundle compiles it
// at start-up and the package holds it once.
import * as path from 'node:path';
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'info',
  external: ['vscode'],
};

const CLI_COMMANDS_APART = ['diff', 'lint', 'parse', 'pin', 'lsp', 'list-remote', 'transition', 'switch', 'deploy'];

/** Resolves `./commands/<name>` in src/cli/main.ts to the separate bundle next to dist/cli.js. */
const cliCommandsApart = {
  name: 'cli-commands-apart',
  setup(build) {
    const filter = new RegExp(`^\\./commands/(${CLI_COMMANDS_APART.join('|')})$`);
    build.onResolve({ filter }, (args) => ({ path: `./cli-${path.basename(args.path)}.js`, external: true }));
  },
};

/** `require('execa')` in any bundle loads dist/execa.js, which sits next to it. */
const execaApart = {
  name: 'execa-apart',
  setup(build) {
    build.onResolve({ filter: /^execa$/ }, () => ({ path: './execa.js', external: true }));
  },
};

const entries = [
  { entryPoints: ['src/core/exec/execa-entry.ts'], outfile: 'dist/execa.js', apart: false },
  { entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
  { entryPoints: ['src/server/main.ts'], outfile: 'dist/server.js' },
  {
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/cli.js',
    banner: { js: '#!/usr/bin/env node' },
    plugins: [cliCommandsApart],
  },
  ...CLI_COMMANDS_APART.map((name) => ({
    entryPoints: [`src/cli/commands/${name}.ts`],
    outfile: `dist/cli-${name}.js`,
  })),
];

const contexts = await Promise.all(
  entries.map(({ apart = true, plugins = [], ...entry }) =>
    esbuild.context({ ...common, ...entry, plugins: apart ? [...plugins, execaApart] : plugins }),
  ),
);
if (watch) {
  await Promise.all(contexts.map((ctx) => ctx.watch()));
} else {
  await Promise.all(contexts.map((ctx) => ctx.rebuild()));
  await Promise.all(contexts.map((ctx) => ctx.dispose()));
}

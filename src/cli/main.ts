/** `nixos-generations`: the command line on the same core as the extension. */
import { UsageError } from './args';
import type { CliCommand, CliIO } from './io';

/** Each command's module is loaded only when that command runs, so `list` does not pay for the parser or the server. */
const COMMANDS: Record<string, { load: () => Promise<{ run: CliCommand }>; summary: string }> = {
  list: {
    load: () => import('./commands/list'),
    summary: 'list [--profile P]... [--run-dir D] [--json] [--closure-size]   generations of the profiles',
  },
  diff: {
    load: () => import('./commands/diff'),
    summary: 'diff A B [--profile P] [--json]               compare two generations or store paths',
  },
  lint: {
    load: () => import('./commands/lint'),
    summary: 'lint [PATH]... [--base REV] [--format text|json|sarif]   stateVersion diagnostics',
  },
  parse: {
    load: () => import('./commands/parse'),
    summary: 'parse FILE...                                 report Nix syntax errors',
  },
  pin: {
    load: () => import('./commands/pin'),
    summary: 'pin [PATH] [--dry-run]                        pin label and configurationRevision to git',
  },
  lsp: {
    load: () => import('./commands/lsp'),
    summary: 'lsp --stdio                                   the language server',
  },
};

export function usage(): string {
  const lines = Object.values(COMMANDS).map((c) => `  nixos-generations ${c.summary}`);
  return `usage:\n${lines.join('\n')}\n`;
}

export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    io.out(`${process.env.NIXOS_GENERATIONS_VERSION ?? '0.1.0'}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`nixos-generations: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  try {
    const { run } = await command.load();
    return await run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`nixos-generations ${name}: ${error.message}\n${usage()}`);
      return 2;
    }
    io.err(`nixos-generations ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

if (require.main === module) {
  const io: CliIO = {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    cwd: process.cwd(),
    env: process.env,
  };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`nixos-generations: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

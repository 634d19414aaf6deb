/** `nixos-generations`: the command line on the same core as the extension. */
import { UsageError } from './args';
import { descriptorWriter, type CliCommand, type CliIO } from './io';

type CommandModule = { run: CliCommand };

/**
 * Each command's module is loaded only when that command runs, so `list` does not pay for the parser or the
 * server. A plain require: the built CLI keeps every command but `list` in its own file, and a dynamic import()
 * of it would go through Node's ESM loader (which lexes the whole file first).
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const COMMANDS: Record<string, { load: () => CommandModule; usage: string; description: string }> = {
  list: {
    load: () => require('./commands/list') as CommandModule,
    usage:
      'list [--profile P]... [--run-dir D] [--json] [--closure-size] [--no-cache] | list --target-host USER@HOST... [--json] [--timeout S]',
    description: 'generations of the system, user and home-manager profiles; of other machines over ssh',
  },
  diff: {
    load: () => require('./commands/diff') as CommandModule,
    usage:
      'diff A B | --target-host HOST B [--profile P] [--json] [--dry-activate] [--run-dir D] [--elevation E] [--no-cache]',
    description: "compare two generations (numbers) or store paths, or HOST's running system with B",
  },
  lint: {
    load: () => require('./commands/lint') as CommandModule,
    usage: 'lint [PATH]... [--base REV] [--run-dir D] [--format text|json|sarif] [--eval]',
    description: 'stateVersion and stateful-service diagnostics; exit 1 on errors',
  },
  parse: {
    load: () => require('./commands/parse') as CommandModule,
    usage: 'parse FILE...',
    description: 'report Nix syntax errors as file:line:column: message',
  },
  pin: {
    load: () => require('./commands/pin') as CommandModule,
    usage: 'pin [PATH] [--dry-run]',
    description: 'pin system.nixos.label and configurationRevision to the git commit',
  },
  transition: {
    load: () => require('./commands/transition') as CommandModule,
    usage:
      'transition postgresql --old-bin DIR --new-bin DIR --old-data DIR --new-data DIR [--method upgrade|dump] ' +
      '[--backup-dir DIR] [--journal FILE] [--run-as USER] [--socket-dir DIR] [--port N] [--client-bin DIR]... ' +
      "[--hook-before|--hook-after|--hook-revert '[argv…]']... [--no-checksum] [--plan] [--yes] [--json] [--resume] " +
      '[--restore [--backup ID]] [--revert] | transition hooks --phase before|after|revert [--journal FILE] ' +
      "[--hook '[argv…]']...",
    description: 'migrate PostgreSQL across a major version: plan, back up, migrate, verify; journaled, resumable',
  },
  switch: {
    load: () => require('./commands/switch') as CommandModule,
    usage:
      'switch GENERATION|STORE_PATH [--target-host USER@HOST] [--action switch|boot|test] [--safe [--confirm-seconds N] [--health-check CHECK]... [--hook-before|--hook-after|--hook-revert ARGV_JSON]... [--transition-command ARGV_JSON]] [--allow-rename] [--switch-anyway]',
    description:
      'activate a generation here or over ssh; --safe reverts by itself unless healthy (chosen by itself when the new system may cut you off); exit 3: wrong host',
  },
  rollback: {
    load: () => ({ run: (require('./commands/switch') as { rollback: CliCommand }).rollback }),
    usage: 'rollback [--target-host USER@HOST] [--action switch|boot|test] [--safe ...]',
    description: 'switch to the generation before the current one',
  },
  deploy: {
    load: () => require('./commands/deploy') as CommandModule,
    usage:
      'deploy [NODE]... [--flake DIR] [--target NAME=USER@HOST]... [--parallel N] [--keep-going] [--elevation E] [--yes] [--json]',
    description: 'deploy machines of the flake through deploy-rs, colmena or nixos-rebuild --target-host',
  },
  lsp: {
    load: () => require('./commands/lsp') as CommandModule,
    usage: 'lsp --stdio',
    description: 'the language server, for any LSP editor',
  },
};
/* eslint-enable @typescript-eslint/no-require-imports */

export function usage(): string {
  const lines = Object.values(COMMANDS).map((c) => `  nixos-generations ${c.usage}\n      ${c.description}`);
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
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`usage: nixos-generations ${command.usage}\n  ${command.description}\n`);
    return 0;
  }
  try {
    // another machine's list reads it over ssh: its own module, so that a local list loads none of that
    const { run } =
      name === 'list' && rest.some((a) => a === '--target-host' || a.startsWith('--target-host='))
        ? (require('./commands/list-remote') as CommandModule) // eslint-disable-line @typescript-eslint/no-require-imports
        : command.load();
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
  // output goes straight to the descriptors (io.ts), so a command that never touches process.stdout does not load
  // the stream machinery
  const err = descriptorWriter(2, () => process.stderr);
  const io: CliIO = {
    out: descriptorWriter(1, () => process.stdout),
    err,
    cwd: process.cwd(),
    env: process.env,
  };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      err(`nixos-generations: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

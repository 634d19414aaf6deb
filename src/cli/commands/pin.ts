import * as path from 'node:path';
import { parseArgs, UsageError } from '../args';
import type { CliIO } from '../io';
import { pinFlake } from '../../core/deploy/pin';

/**
 * `nixos-generations pin [PATH] [--dry-run]`: edit the flake at PATH (default: the current directory) so every
 * future generation records its git commit (system.configurationRevision and system.nixos.label). Prints the diff.
 * Exit 0 when the flake is pinned (changed now, or already), 1 when it was refused or is not a flake.
 */
export async function run(args: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(args, { 'dry-run': {} });
  if (parsed.positionals.length > 1) throw new UsageError('pin takes at most one PATH');
  const target = path.resolve(io.cwd, parsed.positionals[0] ?? '.');
  const dryRun = parsed.flags.has('dry-run');
  const result = await pinFlake(target, { dryRun });
  switch (result.status) {
    case 'changed': {
      io.out(result.diff);
      for (const m of result.messages) io.err(`${m}\n`);
      const files = result.edits.length > 1 ? result.edits.map((e) => e.file).join(', ') : result.file;
      io.err(dryRun ? `dry run: ${files} not changed\n` : `pinned ${files}: ${describeHosts(result.hosts)}\n`);
      return 0;
    }
    case 'unchanged':
      for (const m of result.messages) io.err(`${m}\n`);
      io.err(`${result.file} already pins the commit: ${describeHosts(result.hosts)}\n`);
      return 0;
    case 'not-a-flake':
      io.err(`${result.messages.join('\n')}\n`);
      return 1;
    default:
      io.err(`${result.messages.join('\n')}\n`);
      return 1;
  }
}

function describeHosts(
  hosts: ReadonlyArray<{ name: string | null; line: number; revision: string; label: string; note?: string }>,
): string {
  return hosts
    .map(
      (h) => `${h.name ?? `line ${h.line}`} (revision ${h.revision}, label ${h.label}${h.note ? `; ${h.note}` : ''})`,
    )
    .join(', ');
}

import { parseArgs, UsageError } from '../args';
import type { CliIO } from '../io';

/** `nixos-generations lsp --stdio`: the language server on stdin/stdout, for any LSP editor. */
export async function run(args: string[], _io: CliIO): Promise<number> {
  const parsed = parseArgs(args, { stdio: {} });
  if (!parsed.flags.has('stdio')) throw new UsageError('lsp needs --stdio (the only transport offered)');
  if (parsed.positionals.length) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
  const { createConnection, ProposedFeatures, StreamMessageReader, StreamMessageWriter } =
    await import('vscode-languageserver/node');
  const { startServer } = await import('../../server/server');
  const connection = createConnection(
    ProposedFeatures.all,
    new StreamMessageReader(process.stdin),
    new StreamMessageWriter(process.stdout),
  );
  startServer(connection);
  // The connection keeps the process alive and exits on the client's `exit` notification.
  return new Promise<number>(() => undefined);
}

/** What a CLI command writes to; the real process streams in main.ts, buffers in tests. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export type CliCommand = (args: string[], io: CliIO) => Promise<number>;

/** What a CLI command writes to; the real process's file descriptors in main.ts, buffers in tests. */
import { writeSync } from 'node:fs';

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export type CliCommand = (args: string[], io: CliIO) => Promise<number>;

/**
 * A writer to file descriptor 1 or 2 with blocking writes, as long as the descriptor takes them. Touching
 * `process.stdout` loads node:stream (and net for a pipe): a third of what a short command such as `list` costs
 * beyond Node's own start. A descriptor in non-blocking mode (EAGAIN) hands the rest, in order, to the process
 * stream; a reader that went away (EPIPE) ends the output silently, as for a closed pipe nothing more can arrive.
 */
export function descriptorWriter(fd: number, stream: () => NodeJS.WriteStream): (text: string) => void {
  let state: 'direct' | 'stream' | 'closed' = 'direct';
  return (text) => {
    if (state === 'closed' || text === '') return;
    const bytes = Buffer.from(text, 'utf8');
    let offset = 0;
    if (state === 'direct') {
      try {
        while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
        return;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') {
          state = 'closed';
          return;
        }
        if (code !== 'EAGAIN') throw error;
        state = 'stream';
        // a reader that goes away later must not kill a command half-way either
        stream().on('error', (e: NodeJS.ErrnoException) => {
          if (e.code !== 'EPIPE') throw e;
        });
      }
    }
    stream().write(offset === 0 ? bytes : bytes.subarray(offset));
  };
}

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { descriptorWriter } from '../../../src/cli/io';

describe('cli output to a file descriptor', () => {
  it('writes every byte in order, multi-byte characters whole, without touching the process stream', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-io-'));
    const file = path.join(dir, 'out');
    const fd = fs.openSync(file, 'w');
    try {
      const write = descriptorWriter(fd, () => assert.fail('the stream is for a descriptor that refuses to block'));
      const big = `${'généràtion 🚀 '.repeat(50_000)}\n`;
      write('[');
      write('');
      write(big);
      write(']\n');
      fs.closeSync(fd);
      assert.equal(fs.readFileSync(file, 'utf8'), `[${big}]\n`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('goes quiet after the reader went away (EPIPE) and reports any other failure', () => {
    const [r, w] = pipeFds();
    fs.closeSync(r);
    const write = descriptorWriter(w, () => assert.fail('no stream after EPIPE'));
    write('nobody reads this\n');
    write('nor this\n');
    fs.closeSync(w);
    const closed = descriptorWriter(w, () => assert.fail('no stream for EBADF'));
    assert.throws(() => closed('x'), /EBADF/);
  });
});

/** A pipe's two descriptors, from a FIFO (Node has no pipe(2)). */
function pipeFds(): [number, number] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-fifo-'));
  const fifo = path.join(dir, 'p');
  execFileSync('mkfifo', [fifo]);
  const r = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const w = fs.openSync(fifo, fs.constants.O_WRONLY);
  fs.rmSync(dir, { recursive: true, force: true });
  return [r, w];
}

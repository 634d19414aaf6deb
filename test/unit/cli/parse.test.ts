import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../../src/cli/main';
import type { CliIO } from '../../../src/cli/io';

function bufferedIO(cwd: string): CliIO & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    cwd,
    env: {},
    out(text: string) {
      io.stdout += text;
    },
    err(text: string) {
      io.stderr += text;
    },
  };
  return io;
}

describe('nixos-generations parse', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'nixgen-parse-'));
    await writeFile(path.join(dir, 'good.nix'), '{ system.stateVersion = "24.05"; }\n');
    await writeFile(path.join(dir, 'bad.nix'), '{\n  a = "😀" + ;\n  b = [ 1, 2 ];\n}\n');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exit 0 and no output for files without syntax errors', async () => {
    const io = bufferedIO(dir);
    assert.equal(await main(['parse', 'good.nix'], io), 0);
    assert.equal(io.stdout, '');
    assert.equal(io.stderr, '');
  });

  it('file:line:column: message for each error, 1-based, exit 1', async () => {
    const io = bufferedIO(dir);
    assert.equal(await main(['parse', 'good.nix', 'bad.nix'], io), 1);
    // Columns count UTF-16 code units (the emoji is two), as editors do.
    assert.equal(io.stdout, "bad.nix:2:14: unexpected ';'\nbad.nix:3:10: unexpected ',', expected ']'\n");
  });

  it('an unreadable or missing file: a clear message, exit 1, other files still checked', async () => {
    const io = bufferedIO(dir);
    assert.equal(await main(['parse', 'missing.nix', 'bad.nix'], io), 1);
    assert.match(io.stderr, /^missing\.nix: cannot read: no such file\n$/);
    assert.match(io.stdout, /^bad\.nix:2:14:/);
    const io2 = bufferedIO(dir);
    assert.equal(await main(['parse', '.'], io2), 1);
    assert.match(io2.stderr, /cannot read: is a directory/);
    if (process.getuid?.() !== 0) {
      const locked = path.join(dir, 'locked.nix');
      await writeFile(locked, '1');
      await chmod(locked, 0);
      const io3 = bufferedIO(dir);
      assert.equal(await main(['parse', 'locked.nix'], io3), 1);
      assert.match(io3.stderr, /permission denied/);
    }
  });

  it("names relative to the process's own directory, and absolute names, are read as given", async () => {
    const io = bufferedIO(process.cwd());
    const cases = path.join('test', 'conformance', 'cases');
    const absolute = path.resolve(cases, 'ok-let-inherit.nix');
    assert.equal(
      await main(['parse', path.join(cases, 'err-ampersand.nix'), absolute, path.join(dir, 'bad.nix')], io),
      1,
    );
    assert.equal(
      io.stdout,
      `${path.join(cases, 'err-ampersand.nix')}:1:6: unexpected character '&'\n` +
        `${path.join(dir, 'bad.nix')}:2:14: unexpected ';'\n${path.join(dir, 'bad.nix')}:3:10: unexpected ',', expected ']'\n`,
    );
    assert.equal(io.stderr, '');
  });

  it('no file is a usage error (exit 2)', async () => {
    const io = bufferedIO(dir);
    assert.equal(await main(['parse'], io), 2);
    assert.match(io.stderr, /parse needs at least one FILE/);
  });
});

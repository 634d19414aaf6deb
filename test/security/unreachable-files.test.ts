/**
 * Hostile files nobody imports: the lint of a folder (the shipped CLI) and the language server read only the files
 * a configuration reaches (the flake's hosts and their imports), so a file no configuration reaches is never
 * opened, whatever it is: a 200 MB file (sparse zeros here, the size is what matters), a FIFO whose open would
 * block, a symlink to /dev/zero, or a small module with a bad stateVersion. "Never opened" is proved by the access
 * time: the files are given an access time older than their modification time, which the kernel (relatime) moves
 * forward on any read; a file the lint does read shows it moving, so the check can fail. A file named explicitly
 * (on the command line, or open in the editor) is still linted, within the same size cap.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LintService } from '../../src/core/lint/service';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');
const OLD_ATIME = new Date('2001-01-01T00:00:00Z');
const MTIME = new Date('2002-01-01T00:00:00Z');

const FLAKE = `{
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";
  outputs = { nixpkgs, ... }: {
    nixosConfigurations.h = nixpkgs.lib.nixosSystem { modules = [ ./hosts/h/configuration.nix ]; };
  };
}
`;

describe('security: lint reads only files a configuration reaches', function () {
  this.timeout(120_000);
  let dir: string;
  const at = (rel: string): string => path.join(dir, rel);
  /** Gives the files an access time older than their modification time: any read moves it (relatime). */
  const age = (...rels: string[]): void => rels.forEach((r) => fs.utimesSync(at(r), OLD_ATIME, MTIME));
  const wasRead = (rel: string): boolean => fs.statSync(at(rel)).atimeMs > MTIME.getTime();
  const lint = (...args: string[]): SpawnSyncReturns<string> =>
    spawnSync(process.execPath, [CLI, 'lint', '--base', '', '--format', 'json', ...args], {
      encoding: 'utf8',
      timeout: 60_000,
    });

  before(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-unreachable-')));
    fs.mkdirSync(at('hosts/h'), { recursive: true });
    fs.mkdirSync(at('junk'));
    fs.writeFileSync(at('flake.nix'), FLAKE);
    fs.writeFileSync(at('hosts/h/configuration.nix'), '{ ... }: { imports = [ ./common.nix ]; }\n');
    fs.writeFileSync(at('hosts/h/common.nix'), '{ ... }: { system.stateVersion = "24.05"; }\n');
    // Beside the host, imported by nothing: read, it would report an invalid stateVersion.
    fs.writeFileSync(at('hosts/h/unused.nix'), '{ ... }: { system.stateVersion = "99.99"; }\n');
    fs.writeFileSync(at('junk/trap.nix'), '{ ... }: { system.stateVersion = "99.99"; }\n');
    const huge = fs.openSync(at('junk/huge.nix'), 'w');
    fs.ftruncateSync(huge, 200 * 1024 * 1024);
    fs.closeSync(huge);
    const fifo = spawnSync('mkfifo', [at('junk/pipe.nix')]);
    assert.equal(fifo.status, 0, 'mkfifo');
    fs.symlinkSync('/dev/zero', at('junk/zero.nix'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the CLI lint of the folder never opens an unreachable file, and reads the reachable ones', () => {
    age('hosts/h/common.nix', 'hosts/h/unused.nix', 'junk/trap.nix', 'junk/huge.nix');
    const r = lint(dir);
    assert.ok(r.status === 0 || r.status === 1, `status ${r.status} signal ${r.signal}: ${r.stderr}`);
    assert.ok(wasRead('hosts/h/common.nix'), 'the module the host imports is read (access time observable here)');
    for (const rel of ['hosts/h/unused.nix', 'junk/trap.nix', 'junk/huge.nix']) assert.ok(!wasRead(rel), rel);
    assert.doesNotMatch(r.stderr, /huge\.nix/, 'the 200 MB file is not even weighed');
    // the regular files nobody imports are counted, not named (the FIFO and the link are not even listed)
    assert.match(r.stderr, /: 3 \.nix files no configuration reaches were not read \(name a file to lint it\)/);
    const files = (JSON.parse(r.stdout) as { file: string }[]).map((d) => d.file);
    assert.deepEqual(
      files.filter((f) => /unused|trap/.test(f)),
      [],
    );
  });

  it('a file named on the command line is linted, and a huge one is refused by its size', () => {
    age('junk/trap.nix');
    const named = lint(at('junk/trap.nix'));
    assert.equal(named.status, 0, named.stderr);
    assert.ok(wasRead('junk/trap.nix'));
    const diagnostics = JSON.parse(named.stdout) as { file: string; code: string }[];
    assert.deepEqual(
      diagnostics.map((d) => `${path.basename(d.file)} ${d.code}`),
      ['trap.nix stateversion-invalid'],
    );
    const huge = lint(at('junk/huge.nix'));
    assert.ok(huge.status === 0 || huge.status === 1, huge.stderr);
    assert.match(huge.stderr, /huge\.nix: skipped: too large \(200\.0 MB/);
  });

  it('the language server lints the project without opening unreachable files; an open one is linted', async () => {
    age('hosts/h/common.nix', 'hosts/h/unused.nix', 'junk/trap.nix', 'junk/huge.nix');
    const service = new LintService({ base: '', runDir: '' });
    const result = await service.lintProjectOf(at('hosts/h/configuration.nix'));
    assert.equal(result.dir, dir);
    assert.deepEqual([...result.byFile.keys()].map((f) => path.relative(dir, f)).sort(), [
      'hosts/h/common.nix',
      'hosts/h/configuration.nix',
    ]);
    assert.ok(wasRead('hosts/h/common.nix'));
    for (const rel of ['hosts/h/unused.nix', 'junk/trap.nix', 'junk/huge.nix']) assert.ok(!wasRead(rel), rel);
    // Opened in the editor, the unreachable module is linted from its buffer.
    service.setOverlay(at('junk/trap.nix'), '{ ... }: { system.stateVersion = "24.13"; }\n');
    const open = await service.lintProjectOf(at('junk/trap.nix'));
    assert.deepEqual(
      open.byFile.get(at('junk/trap.nix'))?.map((d) => d.code),
      ['stateversion-invalid'],
    );
    service.removeOverlay(at('junk/trap.nix'));
    const closed = await service.lintProjectOf(at('hosts/h/configuration.nix'));
    assert.equal(closed.byFile.has(at('junk/trap.nix')), false, 'closed again, it is left alone');
  });
});

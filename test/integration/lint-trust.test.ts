// The lint in a hostile or untrusted repository: a repository's git config that names programs (a textconv
// driver, an fsmonitor hook) never runs while we read the git base, and a language server told the workspace is
// untrusted runs no git at all (no stateversion-changed), while a trusted one does.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { runChecked } from '../../src/core/exec/process';
import { lintPaths } from '../../src/core/lint/engine';
import { GIT_ENV } from '../lib/git';

const FLAKE =
  '{ outputs = { nixpkgs, ... }: { nixosConfigurations.h = nixpkgs.lib.nixosSystem { modules = [ ./configuration.nix ]; }; }; }\n';
const config = (sv: string): string => `{ ... }:\n{\n  system.stateVersion = "${sv}";\n}\n`;

/** A repository whose committed stateVersion is 23.11 and whose work tree says 24.05, with hostile git config. */
async function hostileRepo(): Promise<{ dir: string; markers: string[] }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'nixgen-lint-trust-'));
  const git = (...args: string[]) => runChecked(['git', '-C', dir, ...args], { env: GIT_ENV });
  await git('init', '-q');
  writeFileSync(path.join(dir, 'flake.nix'), FLAKE);
  writeFileSync(path.join(dir, 'configuration.nix'), config('23.11'));
  writeFileSync(path.join(dir, '.gitattributes'), '*.nix diff=evil\n');
  await git('add', '-A');
  await git('commit', '-qm', 'base');
  const markers = [path.join(dir, 'TEXTCONV-RAN'), path.join(dir, 'FSMONITOR-RAN')];
  await git('config', 'diff.evil.textconv', `sh -c 'touch ${markers[0]}; cat "$0"'`);
  await git('config', 'core.fsmonitor', `touch ${markers[1]}; true`);
  writeFileSync(path.join(dir, 'configuration.nix'), config('24.05'));
  return { dir, markers };
}

describe('lint in hostile and untrusted repositories', function () {
  this.timeout(60_000);
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('reads the git base without running any program the repository config names', async () => {
    const { dir, markers } = await hostileRepo();
    dirs.push(dir);
    const { diagnostics } = await lintPaths([dir]);
    assert.ok(
      diagnostics.some((d) => d.code === 'stateversion-changed'),
      'the base was read (stateversion-changed reported)',
    );
    for (const marker of markers) assert.equal(existsSync(marker), false, `${path.basename(marker)} exists`);
  });

  for (const trusted of [false, true]) {
    it(`a language server told trusted=${trusted} ${trusted ? 'compares with' : 'runs no git for'} the base`, async () => {
      const { dir, markers } = await hostileRepo();
      dirs.push(dir);
      const cli = path.resolve(__dirname, '../../src/cli/main.js');
      const child: ChildProcess = spawn(process.execPath, [cli, 'lsp', '--stdio'], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      const conn = createMessageConnection(
        new StreamMessageReader(child.stdout!),
        new StreamMessageWriter(child.stdin!),
      );
      const uri = pathToFileURL(path.join(dir, 'configuration.nix')).href;
      const published: { code: string }[][] = [];
      conn.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: { code: string }[] }) => {
        if (p.uri === uri) published.push(p.diagnostics);
      });
      conn.listen();
      try {
        await conn.sendRequest('initialize', {
          processId: process.pid,
          rootUri: pathToFileURL(dir).href,
          capabilities: {},
          initializationOptions: { base: 'HEAD', runDir: '', trusted },
        });
        conn.sendNotification('initialized', {});
        conn.sendNotification('textDocument/didOpen', {
          textDocument: { uri, languageId: 'nix', version: 1, text: config('24.05') },
        });
        const deadline = Date.now() + 20_000;
        while (published.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        assert.ok(published.length > 0, 'the server published diagnostics');
        const codes = published[published.length - 1]!.map((d) => d.code);
        assert.equal(codes.includes('stateversion-changed'), trusted, `codes: ${codes.join(', ')}`);
        for (const marker of markers) assert.equal(existsSync(marker), false);
      } finally {
        conn.dispose();
        child.kill();
      }
    });
  }
});

// The language server over stdio (`nixos-generations lsp --stdio`), driven by a real JSON-RPC client:
// diagnostics on open and on change, a flake.lock change re-checks the .nix files, quick fixes, hovers.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import type { MessageConnection } from 'vscode-jsonrpc/node';
import { GIT_ENV, nixpkgsLock } from '../lib/git';

interface LspDiagnostic {
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  severity: number;
  code: string;
  source: string;
  message: string;
}

const FLAKE =
  '{ outputs = { nixpkgs, ... }: { nixosConfigurations.h = nixpkgs.lib.nixosSystem { modules = [ ./configuration.nix ]; }; }; }\n';
const CONFIG = '{ pkgs, ... }:\n{\n  system.stateVersion = "24.11";\n  services.postgresql.enable = true;\n}\n';

describe('language server over stdio', function () {
  this.timeout(60_000);
  let dir: string;
  let child: ChildProcess;
  let conn: MessageConnection;
  const published = new Map<string, LspDiagnostic[][]>();
  let waiters: (() => void)[] = [];

  const waitFor = async (uri: string, predicate: (d: LspDiagnostic[]) => boolean): Promise<LspDiagnostic[]> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const list = published.get(uri) ?? [];
      const last = list[list.length - 1];
      if (last && predicate(last)) return last;
      if (Date.now() > deadline) throw new Error(`no matching diagnostics for ${uri}; last: ${JSON.stringify(last)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 500);
      });
    }
  };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'nixgen-lsp-'));
    writeFileSync(path.join(dir, 'flake.nix'), FLAKE);
    writeFileSync(path.join(dir, 'flake.lock'), nixpkgsLock('nixos-24.05'));
    writeFileSync(path.join(dir, 'configuration.nix'), CONFIG);
    const cli = path.resolve(__dirname, '../../src/cli/main.js');
    child = spawn(process.execPath, [cli, 'lsp', '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
    conn = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    conn.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: LspDiagnostic[] }) => {
      const list = published.get(p.uri) ?? [];
      list.push(p.diagnostics);
      published.set(p.uri, list);
      const w = waiters;
      waiters = [];
      w.forEach((f) => f());
    });
    conn.listen();
    const init = (await conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(dir).href,
      capabilities: {},
      initializationOptions: { base: 'HEAD', runDir: '' },
    })) as { capabilities: { hoverProvider?: boolean; codeActionProvider?: unknown } };
    assert.equal(init.capabilities.hoverProvider, true);
    assert.ok(init.capabilities.codeActionProvider);
    await conn.sendNotification('initialized', {});
  });

  after(async () => {
    try {
      await conn.sendRequest('shutdown');
      await conn.sendNotification('exit');
    } catch {
      child.kill();
    }
    conn.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const uri = (): string => pathToFileURL(path.join(dir, 'configuration.nix')).href;

  it('publishes diagnostics with our source when a file is opened', async () => {
    await conn.sendNotification('textDocument/didOpen', {
      textDocument: { uri: uri(), languageId: 'nix', version: 1, text: CONFIG },
    });
    const diags = await waitFor(uri(), (d) => d.some((x) => x.code === 'stateversion-newer-than-nixpkgs'));
    const newer = diags.find((x) => x.code === 'stateversion-newer-than-nixpkgs')!;
    assert.equal(newer.source, 'nixos-generations');
    assert.equal(newer.severity, 1);
    assert.deepEqual(newer.range.start, { line: 2, character: 24 });
  });

  it('re-checks the .nix files when flake.lock changes', async () => {
    writeFileSync(path.join(dir, 'flake.lock'), nixpkgsLock('nixos-24.11'));
    await conn.sendNotification('workspace/didChangeWatchedFiles', {
      changes: [{ uri: pathToFileURL(path.join(dir, 'flake.lock')).href, type: 2 }],
    });
    const diags = await waitFor(uri(), (d) => !d.some((x) => x.code === 'stateversion-newer-than-nixpkgs'));
    assert.deepEqual(
      diags.map((d) => d.code),
      ['service-follows-stateversion'],
    );
  });

  it('offers the pin as a quick fix and explains on hover', async () => {
    const diags = await waitFor(uri(), (d) => d.length === 1);
    const actions = (await conn.sendRequest('textDocument/codeAction', {
      textDocument: { uri: uri() },
      range: diags[0]!.range,
      context: { diagnostics: diags },
    })) as { title: string; isPreferred: boolean; edit: { changes: Record<string, { newText: string }[]> } }[];
    assert.equal(actions.length, 1);
    assert.equal(actions[0]!.title, 'Pin services.postgresql.package = pkgs.postgresql_16');
    assert.equal(actions[0]!.isPreferred, true);
    assert.match(actions[0]!.edit.changes[uri()]![0]!.newText, /services\.postgresql\.package = pkgs\.postgresql_16;/);
    const hover = (await conn.sendRequest('textDocument/hover', {
      textDocument: { uri: uri() },
      position: { line: 2, character: 5 },
    })) as {
      contents: { value: string };
    };
    assert.match(hover.contents.value, /first installed with/);
    assert.match(hover.contents.value, /nixpkgs in use: 24\.11 \(input "nixpkgs", nixos-24\.11\)/);
    assert.match(hover.contents.value, /services\.postgresql\.package \| postgresql_16 \| follows stateVersion/);
  });

  it('follows edits of the open document', async () => {
    const text = CONFIG.replace('"24.11"', '"24.13"');
    await conn.sendNotification('textDocument/didChange', {
      textDocument: { uri: uri(), version: 2 },
      contentChanges: [{ text }],
    });
    await waitFor(uri(), (d) => d.some((x) => x.code === 'stateversion-invalid'));
    await conn.sendNotification('textDocument/didChange', {
      textDocument: { uri: uri(), version: 3 },
      contentChanges: [{ text: CONFIG.replace('  services.postgresql.enable = true;\n', '') }],
    });
    await waitFor(uri(), (d) => d.length === 0);
  });

  it('fixes "21.03" to 21.05 without repeating the message on hover; a missing one takes the machine\'s release', async () => {
    type Action = { title: string; isPreferred: boolean; edit: { changes: Record<string, { newText: string }[]> } };
    const change = async (version: number, text: string): Promise<void> =>
      conn.sendNotification('textDocument/didChange', {
        textDocument: { uri: uri(), version },
        contentChanges: [{ text }],
      });
    const actionsFor = async (d: LspDiagnostic): Promise<Action[]> =>
      (await conn.sendRequest('textDocument/codeAction', {
        textDocument: { uri: uri() },
        range: d.range,
        context: { diagnostics: [d] },
      })) as Action[];
    const plain = CONFIG.replace('  services.postgresql.enable = true;\n', '');
    await change(10, plain.replace('"24.11"', '"21.03"'));
    const invalid = (await waitFor(uri(), (d) => d.some((x) => x.code === 'stateversion-invalid'))).find(
      (x) => x.code === 'stateversion-invalid',
    )!;
    const fixes = await actionsFor(invalid);
    assert.deepEqual(
      fixes.map((a) => [a.title, a.isPreferred, a.edit.changes[uri()]![0]!.newText]),
      [['Use "21.05": the release "21.03" became (it shipped as 21.05)', true, '"21.05"']],
    );
    const hover = (await conn.sendRequest('textDocument/hover', {
      textDocument: { uri: uri() },
      position: invalid.range.start,
    })) as { contents: { value: string } };
    // the editor shows the diagnostic's message itself; the hover adds the explanation only
    assert.doesNotMatch(hover.contents.value, /is not a NixOS release/);
    assert.doesNotMatch(hover.contents.value, /stateversion-invalid/);
    assert.match(hover.contents.value, /first installed with/);

    // The explorer tells the server about this machine: host h, installed with 23.05.
    await conn.sendNotification('nixosGenerations/machineFacts', {
      hostName: 'h',
      oldest: { generation: 1, release: '23.05' },
      activated: { generation: 7 },
    });
    await change(11, plain.replace('  system.stateVersion = "24.11";\n', ''));
    const missing = (await waitFor(uri(), (d) => d.some((x) => x.code === 'stateversion-missing'))).find(
      (x) => x.code === 'stateversion-missing',
    )!;
    // on the host's configuration.nix (this document), not flake.nix
    assert.deepEqual(missing.range.start, { line: 1, character: 0 });
    const set = await actionsFor(missing);
    assert.equal(set.length, 1);
    assert.match(
      set[0]!.title,
      /^Set system\.stateVersion = "23\.05" in configuration\.nix: this machine was installed/,
    );
    assert.match(set[0]!.edit.changes[uri()]![0]!.newText, /system\.stateVersion = "23\.05";/);
    await change(12, plain);
    await waitFor(uri(), (d) => d.length === 0);
  });

  it('compares with HEAD again after a commit moves it', async () => {
    const git = (...args: string[]): void => {
      const r = spawnSync('git', ['-C', dir, ...args], { env: { ...process.env, ...GIT_ENV } });
      assert.equal(r.status, 0, String(r.stderr));
    };
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-q', '-m', 'one');
    // The open document says 24.11 like the commit: no change. Commit 24.05 instead, then tell the server.
    writeFileSync(path.join(dir, 'configuration.nix'), CONFIG.replace('"24.11"', '"24.05"'));
    git('commit', '-q', '-am', 'two');
    await conn.sendNotification('workspace/didChangeWatchedFiles', {
      changes: [{ uri: pathToFileURL(path.join(dir, '.git', 'logs', 'HEAD')).href, type: 2 }],
    });
    const d = await waitFor(uri(), (l) => l.some((x) => x.code === 'stateversion-changed'));
    assert.match(d.find((x) => x.code === 'stateversion-changed')!.message, /from "24\.05" \(HEAD\) to "24\.11"/);
  });
});

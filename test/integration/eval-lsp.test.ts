// The evaluation layer in the language server over stdio, on real Nix: background evaluation on open and on save,
// progress with the host name, the time per evaluation in the log, a failure shown once, results replacing the
// static guess, and the stateVersion line's code lens and hover. Off in an untrusted workspace.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import type { MessageConnection } from 'vscode-jsonrpc/node';
import { cleanEnv, repoRoot } from '../fixtures/fixture';
import { makeEvalFlake } from '../fixtures/evalFlake';
import type { EvalFlake } from '../fixtures/evalFlake';

interface LspDiagnostic {
  range: { start: { line: number; character: number } };
  code: string;
  message: string;
}

const SHAPE = path.join(repoRoot(), 'test', 'fixtures', 'eval', 'nixos-shape.nix');

class Client {
  readonly child: ChildProcess;
  readonly conn: MessageConnection;
  readonly diagnostics = new Map<string, LspDiagnostic[]>();
  readonly progress: { token: unknown; value: { kind: string; title?: string; message?: string } }[] = [];
  readonly messages: { type: number; message: string }[] = [];
  readonly logs: string[] = [];
  lensRefreshes = 0;

  constructor(env: NodeJS.ProcessEnv) {
    const cli = path.resolve(__dirname, '../../src/cli/main.js');
    this.child = spawn(process.execPath, [cli, 'lsp', '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'], env });
    this.conn = createMessageConnection(
      new StreamMessageReader(this.child.stdout!),
      new StreamMessageWriter(this.child.stdin!),
    );
    this.conn.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: LspDiagnostic[] }) => {
      this.diagnostics.set(p.uri, p.diagnostics);
    });
    this.conn.onRequest('window/workDoneProgress/create', () => null);
    this.conn.onRequest('workspace/codeLens/refresh', () => {
      this.lensRefreshes++;
      return null;
    });
    this.conn.onRequest('workspace/configuration', () => [null]);
    this.conn.onNotification('$/progress', (p: Client['progress'][number]) => this.progress.push(p));
    this.conn.onNotification('window/showMessage', (p: { type: number; message: string }) => this.messages.push(p));
    this.conn.onNotification('window/logMessage', (p: { message: string }) => this.logs.push(p.message));
    this.conn.listen();
  }

  async start(dir: string, initializationOptions: unknown): Promise<{ codeLensProvider?: unknown }> {
    const init = (await this.conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(dir).href,
      capabilities: { window: { workDoneProgress: true }, workspace: { codeLens: { refreshSupport: true } } },
      initializationOptions,
    })) as { capabilities: { codeLensProvider?: unknown } };
    await this.conn.sendNotification('initialized', {});
    return init.capabilities;
  }

  async open(file: string): Promise<string> {
    const uri = pathToFileURL(file).href;
    await this.conn.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId: 'nix', version: 1, text: readFileSync(file, 'utf8') },
    });
    return uri;
  }

  async until<T>(what: string, probe: () => T | undefined, ms = 60_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = probe();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    try {
      await this.conn.sendRequest('shutdown');
      await this.conn.sendNotification('exit');
    } catch {
      // already gone
    }
    this.conn.dispose();
    this.child.kill();
  }
}

describe('language server: evaluation by Nix in the background', function () {
  this.timeout(120_000);
  let flake: EvalFlake;
  let client: Client;

  before(() => {
    flake = makeEvalFlake(SHAPE, { slowWork: 1000 });
  });
  after(async () => {
    await client?.stop();
    flake.cleanup();
  });

  it('replaces the static guess, shows progress, logs times, reports a failure once, and adds a lens and hover', async () => {
    client = new Client({ ...cleanEnv(), ...flake.env });
    const caps = await client.start(flake.dir, { base: '', runDir: '', trusted: true });
    assert.ok(caps.codeLensProvider);
    const pinned = await client.open(path.join(flake.dir, 'hosts', 'pinned.nix'));
    const common = await client.open(path.join(flake.dir, 'hosts', 'common.nix'));

    // The static guess comes first: it cannot follow the computed import that pins PostgreSQL.
    await client.until('the static diagnostic', () =>
      client.diagnostics.get(pinned)?.some((d) => d.code === 'service-follows-stateversion'),
    );
    // Then evaluation shows the pin: the diagnostic goes away.
    await client.until('the evaluated diagnostics', () =>
      client.diagnostics.get(pinned)?.length === 0 ? true : undefined,
    );
    const commonDiagnostics = await client.until('the service gate found by evaluation', () =>
      client.diagnostics.get(common)?.some((d) => d.message.includes('found by evaluation'))
        ? client.diagnostics.get(common)
        : undefined,
    );
    assert.ok(
      commonDiagnostics.some((d) =>
        /services\.postgresql\.package follows stateVersion .*configuration db/.test(d.message),
      ),
    );

    const begin = client.progress.find((p) => p.value.kind === 'begin');
    assert.ok(begin, 'progress began');
    const hostsShown = client.progress.map((p) => p.value.message ?? '').join('\n');
    for (const host of ['db', 'pinned', 'aborts']) assert.match(hostsShown, new RegExp(`\\b${host} \\(\\d+/6`));
    await client.until('progress end', () => client.progress.some((p) => p.value.kind === 'end'));
    assert.ok(
      client.logs.some((l) => /evaluation of db .*: evaluated in \d+ ms/.test(l)),
      client.logs.join('\n'),
    );

    const failures = client.messages.filter((m) => m.message.includes('evaluating aborts'));
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.type, 3, 'information');
    assert.match(failures[0]!.message, /the port is read from a file that is not there/);

    const lenses = (await client.conn.sendRequest('textDocument/codeLens', { textDocument: { uri: common } })) as {
      range: { start: { line: number } };
      command: { title: string };
    }[];
    assert.equal(lenses.length, 1);
    assert.equal(lenses[0]!.range.start.line, 3);
    assert.match(lenses[0]!.command.title, /^db: raising stateVersion to 26\.05 switches services\.nextcloud\.package/);
    assert.ok(client.lensRefreshes > 0);
    const hover = (await client.conn.sendRequest('textDocument/hover', {
      textDocument: { uri: common },
      position: { line: 3, character: 4 },
    })) as { contents: { value: string } };
    assert.match(hover.contents.value, /\*\*Raising stateVersion\*\* of db from 24\.05 to 26\.05/);
    assert.match(
      hover.contents.value,
      /`services\.postgresql\.package`: postgresql 15\.13 → postgresql 17\.5 — \*\*data migration needed\*\*/,
    );

    // A save after the pin is removed: evaluated again, and the static warning comes back, confirmed.
    const pinFile = path.join(flake.dir, 'hosts', 'pin.nix');
    writeFileSync(pinFile, '{ pkgs, ... }: { }\n');
    const pinUri = await client.open(pinFile);
    await client.conn.sendNotification('textDocument/didSave', { textDocument: { uri: pinUri } });
    const back = await client.until('the confirmed diagnostic', () =>
      client.diagnostics.get(pinned)?.find((d) => d.message.includes('confirmed by evaluation of pinned')),
    );
    assert.equal(back.code, 'service-follows-stateversion');
    // The failure is not shown again on the second round.
    assert.equal(client.messages.filter((m) => m.message.includes('evaluating aborts')).length, 1);
  });

  it('does not evaluate in an untrusted workspace', async () => {
    const untrusted = new Client({ ...cleanEnv(), ...flake.env });
    try {
      await untrusted.start(flake.dir, { base: '', runDir: '', trusted: false });
      const pinned = await untrusted.open(path.join(flake.dir, 'hosts', 'pinned.nix'));
      await untrusted.until('the static diagnostics', () => untrusted.diagnostics.get(pinned));
      await untrusted.until('the log line', () =>
        untrusted.logs.some((l) => l.includes('evaluation is off (the workspace is not trusted)')),
      );
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal(untrusted.progress.length, 0);
      assert.ok(!untrusted.logs.some((l) => l.includes('evaluation of')));
    } finally {
      await untrusted.stop();
    }
  });

  it('does not evaluate when the setting is off', async () => {
    const off = new Client({ ...cleanEnv(), ...flake.env });
    try {
      await off.start(flake.dir, { base: '', runDir: '', trusted: true, evaluation: { enabled: false } });
      const pinned = await off.open(path.join(flake.dir, 'hosts', 'pinned.nix'));
      await off.until('the log line', () => off.logs.some((l) => l.includes('evaluation.enabled is false')));
      await off.until('the static diagnostics', () => off.diagnostics.get(pinned));
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal(off.progress.length, 0);
    } finally {
      await off.stop();
    }
  });
});

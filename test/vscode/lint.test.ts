// The stateVersion language server inside a real VS Code extension host: a flake in the workspace gets our
// diagnostics (source "nixos-generations"), and a quick fix pins the PostgreSQL major in effect.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';

const SOURCE = 'nixos-generations';

const LOCK = JSON.stringify({
  nodes: {
    nixpkgs: {
      locked: { lastModified: 1719000000, owner: 'NixOS', repo: 'nixpkgs', rev: 'a'.repeat(40), type: 'github' },
      original: { owner: 'NixOS', repo: 'nixpkgs', ref: 'nixos-24.05', type: 'github' },
    },
    root: { inputs: { nixpkgs: 'nixpkgs' } },
  },
  root: 'root',
  version: 7,
});

const FLAKE = `{
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";
  outputs = { nixpkgs, ... }: {
    nixosConfigurations.demo = nixpkgs.lib.nixosSystem {
      modules = [ ./configuration.nix ];
    };
  };
}
`;

const CONFIG = `{ pkgs, ... }:
{
  networking.hostName = "demo";
  services.postgresql.enable = true;
  system.stateVersion = "24.11";
}
`;

function codeOf(d: vscode.Diagnostic): string {
  return typeof d.code === 'object' && d.code !== null ? String(d.code.value) : String(d.code);
}

async function waitForDiagnostics(
  uri: vscode.Uri,
  predicate: (list: vscode.Diagnostic[]) => boolean,
): Promise<vscode.Diagnostic[]> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const ours = vscode.languages.getDiagnostics(uri).filter((d) => d.source === SOURCE);
    if (predicate(ours)) return ours;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for diagnostics on ${uri.fsPath}; have: ${JSON.stringify(ours.map((d) => [codeOf(d), d.message]))}`,
      );
    }
    await new Promise<void>((resolve) => {
      const sub = vscode.languages.onDidChangeDiagnostics(() => {
        sub.dispose();
        resolve();
      });
      setTimeout(() => {
        sub.dispose();
        resolve();
      }, 500);
    });
  }
}

describe('stateVersion diagnostics in the extension host', () => {
  let dir: string;

  before(() => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'the tests run with a workspace folder open');
    dir = path.join(folder.uri.fsPath, `lint-demo-${process.pid}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'flake.nix'), FLAKE);
    fs.writeFileSync(path.join(dir, 'flake.lock'), LOCK);
    fs.writeFileSync(path.join(dir, 'configuration.nix'), CONFIG);
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('shows an error on a stateVersion newer than the flake nixpkgs, and applies the pin quick fix', async () => {
    const uri = vscode.Uri.file(path.join(dir, 'configuration.nix'));
    const doc = await vscode.workspace.openTextDocument(uri);
    assert.equal(doc.languageId, 'nix');
    await vscode.window.showTextDocument(doc);

    const diags = await waitForDiagnostics(uri, (l) => l.some((d) => codeOf(d) === 'stateversion-newer-than-nixpkgs'));
    const newer = diags.find((d) => codeOf(d) === 'stateversion-newer-than-nixpkgs')!;
    assert.equal(newer.severity, vscode.DiagnosticSeverity.Error);
    assert.equal(newer.range.start.line, 4);
    assert.match(newer.message, /newer than the nixpkgs release/);

    const hint = diags.find((d) => codeOf(d) === 'service-follows-stateversion');
    assert.ok(hint, 'the unpinned PostgreSQL gets a hint');
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
      'vscode.executeCodeActionProvider',
      uri,
      hint.range,
    );
    const pin = actions.find((a) => a.title === 'Pin services.postgresql.package = pkgs.postgresql_15');
    assert.ok(pin?.edit, `quick fix offered; got ${JSON.stringify(actions.map((a) => a.title))}`);
    assert.ok(await vscode.workspace.applyEdit(pin.edit));
    assert.match(
      doc.getText(),
      /services\.postgresql\.enable = true;\n {2}services\.postgresql\.package = pkgs\.postgresql_15;\n/,
    );

    await waitForDiagnostics(uri, (l) => !l.some((d) => codeOf(d) === 'service-follows-stateversion'));
  });
});

// Smoke tests inside a real VS Code extension host: the extension is installed, activates, registers the
// commands of the public contract, and sees the fixture settings the runner prepared.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { CONTRACT_COMMANDS } from '../lib/contract';

const EXTENSION_ID = 'nixgen.nixos-generations';

interface ManifestCommand {
  command: string;
  title: string;
  category?: string;
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  assert.ok(value, `${name} is not set: run these tests through test/vscode/run-in-code-server.mjs`);
  return value;
}

describe('extension in a real VS Code extension host', () => {
  it(`is installed as ${EXTENSION_ID} and contributes the explorer view`, () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not among the installed extensions`);
    const views = ext.packageJSON?.contributes?.views?.nixosGenerations as { id: string }[] | undefined;
    assert.deepEqual(
      views?.map((v) => v.id),
      ['nixosGenerations.explorer'],
    );
  });

  it('activates without throwing', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext);
    await ext.activate();
    assert.equal(ext.isActive, true);
  });

  it('declares every contract command in the palette under the "NixOS" category', () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext);
    const declared = (ext.packageJSON.contributes.commands as ManifestCommand[]) ?? [];
    for (const id of CONTRACT_COMMANDS) {
      const c = declared.find((d) => d.command === id);
      assert.ok(c, `${id} is not contributed in package.json`);
      assert.equal(c.category, 'NixOS', `${id} has category ${String(c.category)}`);
      assert.ok(c.title.trim().length > 0, `${id} has no title`);
    }
  });

  it('registers exactly the commands package.json declares once activated (the contract ones among them)', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext);
    await ext.activate();
    const declared = ((ext.packageJSON.contributes.commands as ManifestCommand[]) ?? []).map((c) => c.command);
    const registered = (await vscode.commands.getCommands(true)).filter((id) => id.startsWith('nixosGenerations.'));
    const missing = [...new Set([...CONTRACT_COMMANDS, ...declared])].filter((id) => !registered.includes(id));
    assert.deepEqual(missing, [], `commands declared but not registered: ${missing.join(', ')}`);
    // registered but undeclared: reachable only by id, missing from the palette and the enablement rules
    const view = /^nixosGenerations\.explorer\./;
    const undeclared = registered.filter((id) => !declared.includes(id) && !view.test(id));
    assert.deepEqual(undeclared, [], `commands registered but not declared: ${undeclared.join(', ')}`);
  });

  it('runs with the fixture profile from the user settings (machine scope) and the prepared workspace', () => {
    const profile = requiredEnv('NIXGEN_TEST_PROFILE');
    const runDir = requiredEnv('NIXGEN_TEST_RUN_DIR');
    const config = vscode.workspace.getConfiguration('nixosGenerations');
    assert.deepEqual(config.get<string[]>('profiles'), [profile]);
    assert.equal(config.get<string>('runDir'), runDir);
    assert.ok(fs.lstatSync(profile).isSymbolicLink(), `${profile} is not a profile link`);
    assert.ok(fs.existsSync(path.join(runDir, 'current-system')), `${runDir}/current-system is missing`);

    const workspace = requiredEnv('NIXGEN_TEST_WORKSPACE');
    const folders = vscode.workspace.workspaceFolders ?? [];
    assert.equal(folders.length, 1);
    assert.equal(folders[0].uri.fsPath, workspace);
  });
});

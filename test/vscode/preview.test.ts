// diffGenerations inside a real VS Code extension host, on the real-Nix fixture profile the runner built
// (NIXGEN_TEST_PROFILE, NIXGEN_TEST_MANIFEST): the command returns the diff and opens one preview webview.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import * as vscode from 'vscode';
import type { GenerationDiff } from '../../src/core/diff';
import type { NixosGenerationsApi } from '../../src/extension/extension';

function env(name: string): string {
  const value = process.env[name];
  assert.ok(value, `${name} is not set: run these tests through test/vscode/run-in-code-server.mjs`);
  return value;
}

interface Row {
  generation: number;
  missing: boolean;
  toplevel: string;
}

function manifest(): Row[] {
  const [header, ...lines] = fs.readFileSync(env('NIXGEN_TEST_MANIFEST'), 'utf8').trim().split('\n');
  const cols = header!.split('\t');
  return lines.map((line) => {
    const cells = line.split('\t');
    const get = (name: string): string => cells[cols.indexOf(name)] ?? '';
    return { generation: Number(get('generation')), missing: get('missing') === 'yes', toplevel: get('toplevel') };
  });
}

async function api(): Promise<NixosGenerationsApi> {
  const extension = vscode.extensions.getExtension<NixosGenerationsApi>('nixgen.nixos-generations');
  assert.ok(extension, 'extension not installed');
  return extension.isActive ? extension.exports : extension.activate();
}

function previewTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all
    .flatMap((g) => g.tabs)
    .filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('nixosGenerations.preview'));
}

async function waitFor(pred: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return pred();
}

describe('compare generations (real VS Code, real Nix fixture)', () => {
  const rows = manifest().filter((r) => !r.missing);
  const profile = env('NIXGEN_TEST_PROFILE');

  it('compares two store paths and opens the preview panel with the diff', async () => {
    const { explorer } = await api();
    await explorer.refresh();
    const [a, b] = [rows[0]!, rows[rows.length - 1]!];
    const diff = (await vscode.commands.executeCommand('nixosGenerations.diffGenerations', {
      from: a.toplevel,
      to: b.toplevel,
    })) as GenerationDiff | undefined;
    assert.ok(diff, 'the command returned the diff');
    assert.equal(diff.from.storePath, a.toplevel);
    assert.equal(diff.to.storePath, b.toplevel);
    assert.ok(diff.closure.packages.length > 0, 'the oldest and newest generations differ in packages');
    assert.ok(diff.closure.packages.some((p) => p.name === 'postgresql' && p.kind === 'upgraded'));
    assert.ok(
      await waitFor(() => previewTabs().length === 1, 10_000),
      'one preview tab is open: ' +
        JSON.stringify(vscode.window.tabGroups.all.flatMap((g) => g.tabs.map((t) => t.label))),
    );
    assert.match(previewTabs()[0]!.label, /^Generations /);
  });

  it('compares a tree generation with the activated one, reusing the same panel', async () => {
    const { store } = await api();
    const activated = store.activated();
    assert.ok(activated, 'the fixture has an activated generation');
    const other = rows.find((r) => r.generation !== activated.generation.generation)!;
    const diff = (await vscode.commands.executeCommand('nixosGenerations.diffGenerations', {
      profile,
      generation: other.generation,
    })) as GenerationDiff | undefined;
    assert.ok(diff);
    assert.equal(diff.to.generation, other.generation);
    assert.equal(diff.from.generation, activated.generation.generation);
    assert.ok(
      await waitFor(
        () => previewTabs().length === 1 && previewTabs()[0]!.label.includes(`→ ${other.generation}`),
        10_000,
      ),
      'still one preview tab, now titled for the new pair',
    );
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});

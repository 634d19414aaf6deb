// The explorer and the status bar inside a real VS Code extension host, on the real-Nix fixture profile the
// runner built (NIXGEN_TEST_PROFILE, NIXGEN_TEST_RUN_DIR, NIXGEN_TEST_MANIFEST).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { NixosGenerationsApi } from '../../src/extension/extension';
import type { ExplorerNode } from '../../src/extension/tree/nodes';

interface ManifestRow {
  generation: number;
  missing: boolean;
  toplevel: string;
  release: string;
}

function env(name: string): string {
  const value = process.env[name];
  assert.ok(value, `${name} is not set: run these tests through test/vscode/run-in-code-server.mjs`);
  return value;
}

function readManifest(): ManifestRow[] {
  const [header, ...lines] = fs.readFileSync(env('NIXGEN_TEST_MANIFEST'), 'utf8').trim().split('\n');
  const columns = header!.split('\t');
  const col = (name: string): number => {
    const index = columns.indexOf(name);
    assert.ok(index >= 0, `manifest has no column ${name}`);
    return index;
  };
  return lines.map((line) => {
    const cells = line.split('\t');
    return {
      generation: Number(cells[col('generation')]),
      missing: cells[col('missing')] === 'yes',
      toplevel: cells[col('toplevel')]!,
      release: cells[col('release')]!,
    };
  });
}

async function api(): Promise<NixosGenerationsApi> {
  const extension = vscode.extensions.getExtension<NixosGenerationsApi>('nixgen.nixos-generations');
  assert.ok(extension, 'extension not installed');
  return extension.isActive ? extension.exports : extension.activate();
}

async function labelsOf(nodes: ExplorerNode[]): Promise<vscode.TreeItem[]> {
  return nodes.map((node) => node.toTreeItem());
}

function waitForLoad(explorer: NixosGenerationsApi['explorer'], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      subscription.dispose();
      reject(new Error(`the explorer did not reload within ${timeoutMs} ms`));
    }, timeoutMs);
    const subscription = explorer.onDidLoad(() => {
      clearTimeout(timer);
      subscription.dispose();
      resolve();
    });
  });
}

describe('generation explorer (real VS Code, real Nix fixture)', () => {
  const manifest = readManifest();
  const profilePath = env('NIXGEN_TEST_PROFILE');
  const runDir = env('NIXGEN_TEST_RUN_DIR');
  const activatedPath = fs.readlinkSync(path.join(runDir, 'current-system'));
  const bootedPath = fs.readlinkSync(path.join(runDir, 'booted-system'));
  const bootDefault = Number(/-(\d+)-link$/.exec(fs.readlinkSync(profilePath))![1]);

  it('shows the configured profile as the only root, with every generation of the fixture, newest first', async () => {
    const { explorer } = await api();
    await explorer.refresh();
    const roots = await explorer.getChildren();
    assert.equal(roots.length, 1);
    const [root] = await labelsOf(roots);
    assert.equal(root!.label, 'system');
    assert.match(String(root!.description), new RegExp(`^${manifest.length} generations`));

    const children = await explorer.getChildren(roots[0]);
    const numbers = (await labelsOf(children)).map((item) => Number(item.label));
    const expected = manifest.map((row) => row.generation).sort((a, b) => b - a);
    assert.deepEqual(numbers, expected);
  });

  it('marks boot default, activated, booted and garbage-collected generations apart', async () => {
    const { explorer } = await api();
    const [root] = await explorer.getChildren();
    const items = await labelsOf(await explorer.getChildren(root));
    const byNumber = new Map(items.map((item) => [Number(item.label), item]));
    for (const row of manifest) {
      const item = byNumber.get(row.generation);
      assert.ok(item, `generation ${row.generation} is missing from the tree`);
      const tokens = String(item.contextValue).split(' ');
      const description = String(item.description);
      assert.equal(tokens.includes('missing'), row.missing, `missing state of ${row.generation}`);
      assert.equal(description.includes('garbage-collected'), row.missing);
      assert.equal(tokens.includes('current'), row.generation === bootDefault, `boot default ${row.generation}`);
      assert.equal(tokens.includes('activated'), row.toplevel === activatedPath, `activated ${row.generation}`);
      assert.equal(tokens.includes('booted'), row.toplevel === bootedPath, `booted ${row.generation}`);
      if (!row.missing) assert.ok(description.includes(row.release), `${description} should show ${row.release}`);
      const tooltip = item.tooltip as vscode.MarkdownString;
      assert.match(tooltip.value, new RegExp(`Generation ${row.generation}\\*\\*`));
    }
  });

  it('lists the details of a generation as child rows', async () => {
    const { explorer } = await api();
    const [root] = await explorer.getChildren();
    const newest = (await explorer.getChildren(root))[0]!;
    const rows = await labelsOf(await explorer.getChildren(newest));
    const titles = rows.map((row) => String(row.label));
    assert.ok(titles.includes('Kernel'), `rows: ${titles.join(', ')}`);
    assert.ok(titles.includes('Store path'));
    const storeRow = rows.find((row) => row.label === 'Store path')!;
    assert.equal(storeRow.description, manifest.find((r) => r.generation === manifest.length)!.toplevel);
  });

  it('shows the activated generation in the status bar', async () => {
    const { explorer, statusBar } = await api();
    await explorer.refresh();
    const activated = manifest.find((row) => row.toplevel === activatedPath);
    assert.ok(activated, 'the fixture has an activated generation');
    assert.match(statusBar.text, new RegExp(`NixOS ${activated.generation}\\b`));
  });

  it('reveals the activated generation from the command', async () => {
    await api();
    await vscode.commands.executeCommand('workbench.view.extension.nixosGenerations');
    await vscode.commands.executeCommand('nixosGenerations.revealActivated');
  });

  it('refreshes by itself when a profile link appears while the view is visible', async () => {
    const { explorer } = await api();
    await vscode.commands.executeCommand('workbench.view.extension.nixosGenerations');
    await explorer.refresh();
    const newest = Math.max(...manifest.map((row) => row.generation));
    const link = `${profilePath}-${newest + 1}-link`;
    const reloaded = waitForLoad(explorer, 15000);
    fs.symlinkSync(manifest.find((row) => !row.missing)!.toplevel, link);
    try {
      await reloaded;
      const [root] = await explorer.getChildren();
      const numbers = (await labelsOf(await explorer.getChildren(root))).map((item) => Number(item.label));
      assert.equal(numbers[0], newest + 1);
    } finally {
      fs.unlinkSync(link);
      await explorer.refresh();
    }
  });
});

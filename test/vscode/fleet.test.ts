// The fleet in the explorer, inside a real VS Code extension host: a real machine (systemd as PID 1 and sshd in a
// container, test/lib/machines, IDX 24) named in the machine-scoped nixosGenerations.machines setting shows as a node
// with its drift and its system generations read over ssh; a machine that refuses connections stays listed as
// unreachable, with the reason; the Fleet row sums them up.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import type { NixosGenerationsApi } from '../../src/extension/extension';
import type { ExplorerNode } from '../../src/extension/tree/nodes';
import { buildFleetSystems, fleetBinds, installFleetProfile, makeFleetProfile } from '../lib/fleet';
import { bootMachines, machinesUnavailable, stopMachines, type Machine } from '../lib/machines';

// the extension runs from dist/ (bundled), so its node classes are not these modules' classes: rows are told apart
// by what they draw
const item = (n: ExplorerNode): vscode.TreeItem => n.toTreeItem();
const ofContext = (nodes: ExplorerNode[], pattern: RegExp): ExplorerNode[] =>
  nodes.filter((n) => pattern.test(String(item(n).contextValue)));

async function api(): Promise<NixosGenerationsApi> {
  const extension = vscode.extensions.getExtension<NixosGenerationsApi>('nixgen.nixos-generations');
  assert.ok(extension, 'extension not installed');
  return extension.isActive ? extension.exports : extension.activate();
}

/** Writes the remote window's machine settings and waits until VS Code has read the new fleet setting. */
async function setMachines(value: Record<string, string> | undefined): Promise<void> {
  const file = process.env.NIXGEN_TEST_MACHINE_SETTINGS;
  assert.ok(file, 'NIXGEN_TEST_MACHINE_SETTINGS is not set: run through test/vscode/run-in-code-server.mjs');
  const settings = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (value) settings['nixosGenerations.machines'] = value;
  else delete settings['nixosGenerations.machines'];
  const seen = new Promise<void>((resolve) => {
    const sub = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('nixosGenerations.machines')) {
        sub.dispose();
        resolve();
      }
    });
  });
  fs.writeFileSync(file, JSON.stringify(settings, null, 2) + '\n');
  await seen;
}

describe('fleet in the explorer (real VS Code, a real machine over ssh)', function () {
  this.timeout(300_000);
  let machine: Machine | undefined;
  let work = '';
  const savedOpts = process.env.NIX_SSHOPTS;

  before(async function () {
    const why = machinesUnavailable();
    assert.equal(why, null, `test machines cannot boot here: ${why}`);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-vscode-fleet-'));
    const paths = buildFleetSystems([
      { host: 'xweb', n: 1, release: '24.05', address: '10.99.24.2/24' },
      { host: 'xweb', n: 2, address: '10.99.24.2/24', rev: 'dirty' },
    ]);
    const profile = makeFleetProfile(path.join(work, 'xweb'), paths);
    [machine] = await bootMachines([{ name: 'xweb', idx: 24, binds: fleetBinds(profile) }]);
    await installFleetProfile(machine!);
    // the user's ssh options, as the extension takes them (NIX_SSHOPTS of the editor's environment)
    process.env.NIX_SSHOPTS = machine!.sshOpts;
  });

  after(async () => {
    await setMachines(undefined).catch(() => undefined);
    const { explorer } = await api();
    await explorer.refreshFleet();
    if (savedOpts === undefined) delete process.env.NIX_SSHOPTS;
    else process.env.NIX_SSHOPTS = savedOpts;
    if (machine) await stopMachines([machine]);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('shows the machine with its drift and generations, a refused one as unreachable, and the Fleet row', async () => {
    const { explorer } = await api();
    await setMachines({ xweb: machine!.destination, gone: 'root@127.0.0.1:9' });
    await explorer.refreshFleet();
    const roots = await explorer.getChildren();
    const items = roots.map((n) => n.toTreeItem());
    // this machine's profile first, as before; then the fleet
    assert.equal(items[0]!.label, 'system');
    const fleetRow = items.find((i) => i.label === 'Fleet');
    assert.ok(fleetRow, `no Fleet row in ${items.map((i) => String(i.label)).join(', ')}`);
    assert.equal(fleetRow.description, '2 machines: 1 runs a dirty tree, 1 unknown (machine unreachable)');

    const web = ofContext(roots, /^machine\b/).find((n) => item(n).label === 'xweb');
    assert.ok(web, 'no node for xweb');
    const webItem = web.toTreeItem();
    assert.equal(webItem.description, 'runs a dirty tree');
    assert.equal(webItem.id, `machine:ssh:${machine!.destination}`);
    const rows = await explorer.getChildren(web);
    const runs = rows.find((r) => r.toTreeItem().label === 'Runs');
    assert.equal(runs?.toTreeItem().description, 'runs a dirty tree');
    const profile = ofContext(rows, /^machineProfile\b/)[0];
    assert.ok(profile, 'no system profile under xweb');
    assert.equal(profile.toTreeItem().contextValue, 'machineProfile system');
    const gens = ofContext(await explorer.getChildren(profile), /^machineGeneration\b/);
    assert.deepEqual(
      gens.map((g) => String(item(g).label).trim()),
      ['2', '1'],
    );
    assert.match(String(item(gens[0]!).accessibilityInformation?.label), /^Generation 2, .*activated/);
    const top = gens[0]!.toTreeItem();
    // remote rows never match the menus of this machine's generations (`\bgeneration\b`)
    assert.match(String(top.contextValue), /^machineGeneration system present current activated booted\b/);
    assert.doesNotMatch(String(top.contextValue), /\bgeneration\b/);
    const details = (await explorer.getChildren(gens[0]!)).map(item);
    assert.equal(details.find((d) => d.label === 'Commit')?.description, 'dirty');
    assert.equal(details.find((d) => d.label === 'Kernel')?.description, '6.6.66');
    assert.match(String(details.find((d) => d.label === 'Closure size')?.description), /\d+(\.\d)? (B|KiB|MiB)/);

    const gone = ofContext(roots, /^machine\b/).find((n) => item(n).label === 'gone');
    assert.ok(gone, 'no node for gone');
    assert.match(String(gone.toTreeItem().description), /^unreachable \(connection refused .*\) · never seen$/);
    const why = (await explorer.getChildren(gone)).map((r) => r.toTreeItem()).find((r) => r.label === 'Unreachable');
    assert.match(String(why?.description), /connection refused/);
  });
});

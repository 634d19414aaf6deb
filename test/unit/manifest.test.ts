// The manifest is part of the public contract (design.md): ids, settings, scopes and the trust rules. A change
// that drops a command, unscopes an executable setting or enables a deploy command in an untrusted workspace
// fails here.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CONTRACT_COMMANDS } from '../lib/contract';

interface Manifest {
  name: string;
  publisher: string;
  displayName: string;
  main: string;
  bin: Record<string, string>;
  capabilities: { untrustedWorkspaces: { supported: unknown; restrictedConfigurations: string[] } };
  contributes: {
    viewsContainers: { activitybar: { id: string }[] };
    views: Record<string, { id: string }[]>;
    commands: { command: string; category?: string; enablement?: string }[];
    configuration: { properties: Record<string, { scope?: string; default?: unknown }> };
    menus: Record<string, { command: string; when?: string }[]>;
    viewsWelcome: { view: string; contents: string; when?: string }[];
    taskDefinitions: { type: string; required?: string[] }[];
    walkthroughs: { id: string; steps: { id: string; description: string; media: { markdown?: string } }[] }[];
  };
}

const manifest = JSON.parse(readFileSync(path.resolve(__dirname, '../../../package.json'), 'utf8')) as Manifest;

/** Commands that deploy, switch, edit the user's files or delete: off in untrusted workspaces. */
const DEPLOY_COMMANDS = [
  'rebuild',
  'switch',
  'rollback',
  'switchToGeneration',
  'pinLabel',
  'deleteGenerations',
  'safeSwitch',
  'checkoutGenerationCommit',
  'restoreTransitionBackup',
].map((c) => `nixosGenerations.${c}`);

/** Settings that name an executable, a command, a host or a path on the machine. */
const MACHINE_SETTINGS = [
  'profiles',
  'runDir',
  'flake',
  'host',
  'targetHost',
  'buildHost',
  'elevation',
  'rebuildCommand',
  'rebuildExtraArgs',
  'useNom',
  'safeSwitch.confirmSeconds',
  'safeSwitch.healthChecks',
  'deploy.deployRsCommand',
  'deploy.colmenaCommand',
  'evaluation.nix',
  'transitions.hooks',
  'transitions.command',
].map((s) => `nixosGenerations.${s}`);

describe('manifest (public contract)', () => {
  it('names the package, publisher, entry points and the CLI as the contract says', () => {
    assert.equal(manifest.name, 'nixos-generations');
    assert.equal(manifest.publisher, 'nixgen');
    assert.equal(manifest.displayName, 'NixOS Generations');
    assert.equal(manifest.main, './dist/extension.js');
    assert.equal(manifest.bin['nixos-generations'], './dist/cli.js');
  });

  it('contributes the view container and the explorer view', () => {
    assert.ok(manifest.contributes.viewsContainers.activitybar.some((c) => c.id === 'nixosGenerations'));
    assert.deepEqual(
      manifest.contributes.views.nixosGenerations!.map((v) => v.id),
      ['nixosGenerations.explorer'],
    );
  });

  it('declares every contract command, and every declared command in the "NixOS" category', () => {
    const declared = new Map(manifest.contributes.commands.map((c) => [c.command, c]));
    for (const id of CONTRACT_COMMANDS) assert.ok(declared.has(id), `${id} is not declared`);
    for (const [id, c] of declared) {
      assert.match(id, /^nixosGenerations\.\w+$/, `${id} id`);
      assert.equal(c.category, 'NixOS', `${id} category`);
    }
  });

  it('disables every deploy command in untrusted workspaces', () => {
    assert.equal(manifest.capabilities.untrustedWorkspaces.supported, 'limited');
    const declared = new Map(manifest.contributes.commands.map((c) => [c.command, c]));
    for (const id of DEPLOY_COMMANDS) {
      assert.match(declared.get(id)!.enablement ?? '', /\bisWorkspaceTrusted\b/, `${id} enablement`);
    }
    for (const id of ['nixosGenerations.refresh', 'nixosGenerations.diffGenerations']) {
      assert.equal(declared.get(id)!.enablement, undefined, `${id} stays available`);
    }
  });

  it('scopes every executable, command, host and path setting to the machine and restricts it', () => {
    const props = manifest.contributes.configuration.properties;
    const restricted = new Set(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations);
    for (const key of MACHINE_SETTINGS) {
      assert.ok(props[key], `${key} is not declared`);
      assert.equal(props[key]!.scope, 'machine', `${key} scope`);
      if (key !== 'nixosGenerations.safeSwitch.confirmSeconds') {
        assert.ok(restricted.has(key), `${key} is not in restrictedConfigurations`);
      }
    }
    for (const key of Object.keys(props)) assert.ok(props[key]!.scope, `${key} has no scope`);
    assert.equal(props['nixosGenerations.runDir']!.default, '/run');
    assert.equal(props['nixosGenerations.safeSwitch.confirmSeconds']!.default, 30);
  });

  it('only offers generation commands on generation rows of the explorer', () => {
    for (const item of manifest.contributes.menus['view/item/context']!) {
      assert.match(item.when ?? '', /view == nixosGenerations\.explorer/, `${item.command} menu`);
    }
  });

  it('keeps the toolbar commands apart from the row commands (VS Code passes toolbar commands the focused row)', () => {
    const title = manifest.contributes.menus['view/title']!.map((m) => m.command);
    const rows = manifest.contributes.menus['view/item/context']!.map((m) => m.command);
    for (const id of ['nixosGenerations.deleteGenerations', 'nixosGenerations.safeSwitch']) {
      assert.ok(title.includes(id), `${id} in the toolbar`);
      assert.ok(!rows.includes(id), `${id} must not be a row command`);
    }
    assert.ok(rows.includes('nixosGenerations.deleteSelectedGenerations'));
    assert.ok(rows.includes('nixosGenerations.safeSwitchToGeneration'));
    const hidden = manifest.contributes.menus.commandPalette!.filter((m) => m.when === 'false').map((m) => m.command);
    assert.ok(hidden.includes('nixosGenerations.deleteSelectedGenerations'), 'row commands stay out of the palette');
  });

  it('says "reading" while loading and "no profile" only when none was found, in plain words', () => {
    const welcome = manifest.contributes.viewsWelcome.filter((w) => w.view === 'nixosGenerations.explorer');
    const loading = welcome.find((w) => /Reading/.test(w.contents));
    const empty = welcome.find((w) => /No NixOS profile/.test(w.contents));
    assert.match(loading?.when ?? '', /!nixosGenerations\.viewState \|\| nixosGenerations\.viewState == loading/);
    assert.equal(empty?.when, 'nixosGenerations.viewState == empty');
    for (const w of welcome) {
      assert.doesNotMatch(w.contents, /`|repository|npm/, 'no literal backticks or internal wording');
    }
  });

  it('declares its task type and a getting-started walkthrough whose pages exist', () => {
    const tasks = readFileSync(path.resolve(__dirname, '../../../src/extension/tasks.ts'), 'utf8');
    const type = /type: '([^']+)'/.exec(tasks)?.[1];
    assert.ok(
      manifest.contributes.taskDefinitions.some((t) => t.type === type && t.required?.includes('name')),
      type,
    );
    const [walk] = manifest.contributes.walkthroughs;
    assert.deepEqual(
      walk!.steps.map((s) => s.id),
      ['openView', 'pinCommit', 'readDiagnostic', 'safeSwitch'],
    );
    for (const step of walk!.steps) {
      assert.ok(step.media.markdown, step.id);
      assert.ok(existsSync(path.resolve(__dirname, '../../..', step.media.markdown)), step.media.markdown);
    }
    assert.match(
      walk!.steps[2]!.description,
      /jnoortheen\.nix-ide/,
      'suggests Nix IDE rather than a grammar of our own',
    );
  });

  it("a profile row's context menu: refresh, compare and delete old generations of that profile, not of a remote machine's", () => {
    const profileMenu = manifest.contributes.menus['view/item/context']!.filter(
      (m) => m.when?.includes('viewItem =~ /^profile') && !m.when.includes('inline'),
    );
    assert.deepEqual(profileMenu.map((m) => m.command).sort(), [
      'nixosGenerations.deleteProfileGenerations',
      'nixosGenerations.diffGenerations',
      'nixosGenerations.refresh',
    ]);
    const whenOf = (command: string): RegExp =>
      new RegExp(/viewItem =~ \/(.*)\/(?:"|$)/.exec(profileMenu.find((m) => m.command === command)!.when!)![1]!);
    const deletes = whenOf('nixosGenerations.deleteProfileGenerations');
    assert.ok(deletes.test('profile system') && deletes.test('profile home-manager'));
    assert.ok(!deletes.test('profile system problem'), 'a profile that could not be read has nothing to delete');
    assert.ok(!deletes.test('machineProfile system'), "a remote machine's profile has its own menus");
    const compares = whenOf('nixosGenerations.diffGenerations');
    assert.ok(compares.test('profile home-manager') && !compares.test('profile user'));
    const command = manifest.contributes.commands.find(
      (c) => c.command === 'nixosGenerations.deleteProfileGenerations',
    );
    assert.equal(command?.enablement, 'isWorkspaceTrusted');
  });
});

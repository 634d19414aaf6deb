// The deploy commands inside a real VS Code extension host: they run as tasks in the integrated terminal, on the
// runner's real-Nix fixture profile (NIXGEN_TEST_PROFILE), with the fake nixos-rebuild/sudo of
// test/fixtures/fake-bin found first on the extension host's PATH (they record their argv in
// $NIXGEN_TEST_FIXTURE_DIR/fake-bin.log) and the fixture's switch-to-configuration recording its calls in
// $NIXOS_FIXTURE_STC_LOG. Dialogs are answered by replacing vscode.window's functions for the duration of a test.
// Every test puts the profile and run/current-system back as they were, for the suites that follow.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import type { NixosGenerationsApi } from '../../src/extension/extension';
import { PIN_COMMENT } from '../../src/core/deploy/pin';

const EXTENSION_ID = 'nixgen.nixos-generations';

function env(name: string): string {
  const value = process.env[name];
  assert.ok(value, `${name} is not set: run these tests through test/vscode/run-in-code-server.mjs`);
  return value;
}

interface FakeCall {
  prog: string;
  argv: string[];
  cwd: string;
  command?: string[];
}

type Window = typeof vscode.window;
type Answer = (message: string, ...rest: unknown[]) => unknown;

/** Replaces some vscode.window functions while `body` runs; records what was asked. */
async function withDialogs<T>(
  answers: Partial<Record<keyof Window, Answer>>,
  body: () => Thenable<T> | Promise<T>,
): Promise<T> {
  const win = vscode.window as unknown as Record<string, unknown>;
  const saved = new Map<string, unknown>();
  for (const [name, answer] of Object.entries(answers)) {
    saved.set(name, win[name]);
    win[name] = answer;
  }
  try {
    return await body();
  } finally {
    for (const [name, original] of saved) win[name] = original;
  }
}

/**
 * Runs `body` answering the warning dialog (the command's confirmation) with `choice`, and returns the body's
 * result with what the dialog asked: its message and detail, one after the other.
 */
async function confirmWith<T>(
  choice: string,
  body: () => Thenable<T> | Promise<T>,
): Promise<{ result: T; asked: string }> {
  let asked = '';
  const result = await withDialogs(
    {
      showWarningMessage: (message: string, options: unknown) => {
        asked = `${message}\n${(options as { detail?: string }).detail ?? ''}`;
        return Promise.resolve(choice);
      },
      showInformationMessage: () => Promise.resolve(undefined),
    },
    body,
  );
  return { result, asked };
}

describe('deploy commands as terminal tasks (real VS Code, real Nix fixture)', function () {
  this.timeout(120000);
  const profile = env('NIXGEN_TEST_PROFILE');
  const runDir = env('NIXGEN_TEST_RUN_DIR');
  const fixtureDir = env('NIXGEN_TEST_FIXTURE_DIR');
  const stcLog = env('NIXOS_FIXTURE_STC_LOG');
  const workspace = env('NIXGEN_TEST_WORKSPACE');
  const fakeLog = path.join(fixtureDir, 'fake-bin.log');
  let api: NixosGenerationsApi;
  let originalPath: string | undefined;
  let stateDir: string;
  let originalCurrent: string;
  let originalActivated: string;

  const currentLink = () => fs.readlinkSync(profile);
  const readLines = (file: string) =>
    fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  const fakeCalls = (): FakeCall[] => readLines(fakeLog).map((l) => JSON.parse(l) as FakeCall);
  const stcCalls = () => readLines(stcLog).map((l) => l.split(' ').slice(1).join(' '));
  const nix = (...args: string[]) => {
    const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const setActivated = (storePath: string) => {
    const link = path.join(runDir, 'current-system');
    fs.rmSync(link, { force: true });
    fs.symlinkSync(storePath, link);
  };
  const listing = () => api.store.listings().find((l) => l.profile.path === profile)!;
  const generation = (n: number) => listing().generations.find((g) => g.generation === n)!;

  before(async () => {
    const ext = vscode.extensions.getExtension<NixosGenerationsApi>(EXTENSION_ID);
    assert.ok(ext);
    api = ext.isActive ? ext.exports : await ext.activate();
    // the fake programs are found first (the commands resolve programs to absolute paths with this PATH)
    originalPath = process.env.PATH;
    process.env.PATH = `${path.join(ext.extensionPath, 'test', 'fixtures', 'fake-bin')}:${process.env.PATH}`;
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-state-'));
    process.env.NIXOS_GENERATIONS_STATE_DIR = stateDir;
    originalCurrent = currentLink();
    originalActivated = fs.readlinkSync(path.join(runDir, 'current-system'));
    await api.explorer.refresh();
  });

  afterEach(async () => {
    // put the fixture back: boot default, activated system, no extra generations
    const now = Number(/-(\d+)-link$/.exec(currentLink())![1]);
    const original = Number(/-(\d+)-link$/.exec(originalCurrent)![1]);
    if (now !== original) nix('nix-env', '-p', profile, '--switch-generation', String(original));
    const extra = fs
      .readdirSync(path.dirname(profile))
      .map((e) => /^system-(\d+)-link$/.exec(e))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => Number(m[1]))
      .filter((n) => n > original);
    if (extra.length > 0) nix('nix-env', '-p', profile, '--delete-generations', ...extra.map(String));
    setActivated(originalActivated);
    await api.explorer.refresh();
  });

  after(() => {
    process.env.PATH = originalPath;
    delete process.env.NIXOS_GENERATIONS_STATE_DIR;
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('switches to an older generation from its tree item: one sudo, the profile switched, activation recorded', async () => {
    const target = [...listing().generations]
      .reverse()
      .find((g) => !g.missing && !g.current && !g.activated && g.specialisations.length === 0)!;
    assert.ok(target, 'the fixture has an older, present generation');
    const node = api.explorer.findGeneration(profile, target.generation);
    assert.ok(node, 'the tree has a node for it');
    const fakeBefore = fakeCalls().length;
    const stcBefore = stcCalls().length;
    const { result: ok, asked } = await confirmWith('Switch', () =>
      vscode.commands.executeCommand('nixosGenerations.switchToGeneration', node, {
        action: 'switch',
        specialisation: null,
      }),
    );
    assert.equal(ok, true, 'the command reports success');
    assert.match(asked, new RegExp(`Switch to generation ${target.generation} of system\\?`));
    assert.match(asked, /Nothing is evaluated or built/);
    assert.equal(currentLink(), `system-${target.generation}-link`);
    assert.deepEqual(stcCalls().slice(stcBefore), [`${target.storePath} switch`]);
    const sudo = fakeCalls().slice(fakeBefore);
    assert.deepEqual(
      sudo.map((c) => c.prog),
      ['sudo'],
    );
    const command = sudo[0]!.command!;
    // sh -c SCRIPT NAME NIX_ENV PROFILE ...: the script is task text, not a file
    assert.deepEqual([command[0], command[1], command[3]], ['sh', '-c', 'nixos-generations-switch']);
    assert.deepEqual(command.slice(5), [
      profile,
      String(target.generation),
      target.storePath,
      'switch',
      originalCurrent.replace(/^system-(\d+)-link$/, '$1'),
    ]);
    // the tree was refreshed after the task: the boot default moved
    assert.equal(listing().currentGeneration, target.generation);
    const history = readLines(path.join(stateDir, 'activations.jsonl')).map(
      (l) => JSON.parse(l) as { generation: number; source: string },
    );
    assert.deepEqual(history.map((r) => [r.generation, r.source]).slice(-1), [[target.generation, 'performed']]);
  });

  it('rolls back to the previously activated generation, not the one numbered below', async () => {
    const activatedBefore = listing().generations.find((g) => g.activated)!;
    const older = listing().generations.filter(
      (g) => !g.missing && g.generation < activatedBefore.generation - 1 && g.specialisations.length === 0,
    )[0]!;
    assert.ok(older);
    // switch to `older` (recorded), then let activation point current-system at it, as a real one would
    await withDialogs(
      { showWarningMessage: () => Promise.resolve('Switch'), showInformationMessage: () => Promise.resolve(undefined) },
      () =>
        vscode.commands.executeCommand('nixosGenerations.switchToGeneration', older.generation, {
          action: 'switch',
          specialisation: null,
        }),
    );
    setActivated(older.storePath);
    await api.explorer.refresh();
    const stcBefore = stcCalls().length;
    const { result: ok, asked } = await confirmWith('Roll Back', () =>
      vscode.commands.executeCommand('nixosGenerations.rollback'),
    );
    assert.equal(ok, true);
    assert.match(asked, new RegExp(`^Roll back to generation ${activatedBefore.generation} of system\\?`));
    assert.match(asked, new RegExp(`Generation ${activatedBefore.generation} was activated before the current one`));
    assert.doesNotMatch(asked, /\d{4}-\d\d-\d\dT\d\d:|<script>/, 'no raw ISO time, no script in the words');
    assert.deepEqual(stcCalls().slice(stcBefore), [`${activatedBefore.storePath} switch`]);
    assert.equal(currentLink(), `system-${activatedBefore.generation}-link`);
  });

  it('rebuilds with the fake nixos-rebuild: flake#host and the sudo flag of its flavor, then the tree shows the new generation', async () => {
    const before = listing().generations.length;
    const fakeBefore = fakeCalls().length;
    const loaded = new Promise<void>((resolve) => {
      const sub = api.explorer.onDidLoad(() => {
        sub.dispose();
        resolve();
      });
    });
    const ok = await withDialogs(
      { showWarningMessage: () => Promise.resolve('Switch'), showInformationMessage: () => Promise.resolve(undefined) },
      () => vscode.commands.executeCommand('nixosGenerations.switch'),
    );
    assert.equal(ok, true);
    await loaded;
    const calls = fakeCalls()
      .slice(fakeBefore)
      .filter((c) => c.prog === 'nixos-rebuild' && !c.argv.includes('--help'));
    assert.equal(calls.length, 1, JSON.stringify(fakeCalls().slice(fakeBefore)));
    const [action, flag, flakeRef, ...rest] = calls[0]!.argv;
    assert.deepEqual([action, flag, rest], ['switch', '--flake', ['--use-remote-sudo']]);
    const [flakeDir, host] = flakeRef!.split('#');
    assert.equal(fs.realpathSync(flakeDir!), fs.realpathSync(workspace));
    assert.equal(host, 'nixbox', 'the only host of the workspace flake, read by our parser');
    assert.equal(fs.realpathSync(calls[0]!.cwd), fs.realpathSync(workspace));
    assert.equal(listing().generations.length, before + 1, 'the refreshed tree has the new generation');
    assert.equal(listing().currentGeneration, Math.max(...listing().generations.map((g) => g.generation)));
  });

  it('deletes a selected generation: plan confirmed, nix-env and GC run, boot entries refreshed', async () => {
    // an extra generation to delete (the boot default stays where it is)
    const source = listing().generations.find((g) => !g.missing && !g.current)!;
    nix('nix-env', '-p', profile, '--set', source.storePath);
    const extra = Number(/-(\d+)-link$/.exec(currentLink())![1]);
    nix('nix-env', '-p', profile, '--switch-generation', originalCurrent.replace(/^system-(\d+)-link$/, '$1'));
    await api.explorer.refresh();
    assert.ok(generation(extra));
    const node = api.explorer.findGeneration(profile, extra);
    assert.ok(node);
    const stcBefore = stcCalls().length;
    const { result: ok, asked } = await confirmWith('Delete', () =>
      vscode.commands.executeCommand('nixosGenerations.deleteSelectedGenerations', node),
    );
    assert.equal(ok, true, asked);
    assert.match(asked, new RegExp(`Delete 1 generation of system\\?`));
    assert.match(asked, new RegExp(`Delete: ${extra}\\.`));
    assert.match(asked, /Frees: .*B \(0 store paths/, 'its toplevel is shared with a kept generation: nothing freed');
    assert.equal(fs.existsSync(`${profile}-${extra}-link`), false);
    assert.equal(generation(extra), undefined, 'gone from the refreshed tree');
    const bootDefault = fs.realpathSync(profile);
    assert.deepEqual(stcCalls().slice(stcBefore), [`${bootDefault} boot`]);
  });

  it('toolbar cleanup and safe switch ignore the focused row VS Code passes them and ask first', async () => {
    // VS Code calls a view/title command with (focused row, selected rows): the row right-clicked earlier, say
    const row = api.explorer.findGeneration(
      profile,
      listing().generations.find((g) => !g.current && !g.activated && !g.booted && !g.missing)!.generation,
    );
    assert.ok(row);
    const titles: string[] = [];
    const items: string[] = [];
    const answers = {
      showQuickPick: (list: unknown, options: unknown) => {
        titles.push((options as { title?: string }).title ?? '');
        items.push(...(list as Array<{ label: string }>).map((i) => i.label));
        return Promise.resolve(undefined);
      },
      showWarningMessage: () => Promise.reject(new Error('no confirmation expected before choosing')),
    };
    const deleted = await withDialogs(answers, () =>
      vscode.commands.executeCommand('nixosGenerations.deleteGenerations', row, [row]),
    );
    assert.equal(deleted, false);
    assert.deepEqual(titles, ['Clean up system']);
    assert.ok(items.includes('Keep the newest…') && items.includes('Choose generations…'), items.join(', '));
    const switched = await withDialogs(answers, () =>
      vscode.commands.executeCommand('nixosGenerations.safeSwitch', row, [row]),
    );
    assert.equal(switched, undefined);
    assert.equal(titles[1], 'Safe switch', 'the safe switch asks what to switch to');
    assert.ok(fs.existsSync(`${profile}-${row.generation.generation}-link`), 'nothing was deleted');
  });

  it('refuses to delete the activated generation', async () => {
    const activated = listing().generations.find((g) => g.activated)!;
    let info = '';
    const ok = await withDialogs(
      {
        showInformationMessage: (message: string) => {
          info = message;
          return Promise.resolve(undefined);
        },
        showWarningMessage: () => Promise.reject(new Error('no confirmation expected')),
      },
      () =>
        vscode.commands.executeCommand('nixosGenerations.deleteGenerations', undefined, {
          selector: { kind: 'selection', generations: [activated.generation] },
        }),
    );
    assert.equal(ok, false);
    assert.match(
      info,
      new RegExp(`nothing to delete; kept because they are in use: ${activated.generation} \\(activated`),
    );
    assert.ok(generation(activated.generation));
  });

  it('pins the workspace flake after showing the diff, and a second run changes nothing', async () => {
    const flake = path.join(workspace, 'flake.nix');
    const original = fs.readFileSync(flake, 'utf8');
    try {
      // the question comes beside the diff view (not a modal over it); the diff shows the pinned text
      let asked = '';
      let diffShown = '';
      const ok = await withDialogs(
        {
          showInformationMessage: (message: string, ...buttons: unknown[]) => {
            if (!buttons.includes('Apply')) return Promise.resolve(undefined);
            asked = message;
            const diff = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
            if (diff instanceof vscode.TabInputTextDiff) {
              diffShown =
                vscode.workspace.textDocuments.find((d) => d.uri.toString() === diff.modified.toString())?.getText() ??
                '';
            }
            return Promise.resolve('Apply');
          },
          showWarningMessage: () => Promise.reject(new Error('no modal dialog over the diff')),
        },
        () => vscode.commands.executeCommand('nixosGenerations.pinLabel'),
      );
      assert.equal(ok, true);
      assert.match(asked, /^Apply this edit to flake\.nix\?/);
      assert.ok(diffShown.includes(PIN_COMMENT), 'the diff view shows the pinned flake.nix');
      const leftOpen = vscode.window.tabGroups.all
        .flatMap((g) => g.tabs)
        .filter((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.scheme !== 'file');
      assert.equal(leftOpen.length, 0, 'the diff is closed after Apply (no struck-through tab left)');
      const pinned = fs.readFileSync(flake, 'utf8');
      assert.ok(pinned.includes(PIN_COMMENT));
      assert.equal(
        pinned.match(/configurationRevision/g)?.length,
        1,
        'the existing configurationRevision is kept, not duplicated',
      );
      const parsed = spawnSync('nix-instantiate', ['--parse', flake], {
        encoding: 'utf8',
        env: { ...process.env, NIX_REMOTE: 'dummy://' },
      });
      assert.equal(parsed.status, 0, parsed.stderr);
      let info = '';
      await withDialogs(
        {
          showInformationMessage: (message: string) => {
            info = message;
            return Promise.resolve(undefined);
          },
        },
        () => vscode.commands.executeCommand('nixosGenerations.pinLabel'),
      );
      assert.match(info, /already records the commit/);
      assert.equal(fs.readFileSync(flake, 'utf8'), pinned);
    } finally {
      fs.writeFileSync(flake, original);
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    }
  });

  it("explains when a generation's commit is not in the repository", async () => {
    const [header, ...rows] = fs.readFileSync(env('NIXGEN_TEST_MANIFEST'), 'utf8').trim().split('\n');
    const cols = header!.split('\t');
    const row = rows
      .map((r) => r.split('\t'))
      .find((c) => c[cols.indexOf('configuration_revision')] === 'rev' && c[cols.indexOf('missing')] === 'no');
    assert.ok(row, 'the fixture has a generation with a configurationRevision');
    const withRevision = generation(Number(row[cols.indexOf('generation')]));
    let error = '';
    await withDialogs(
      {
        showErrorMessage: (message: string) => {
          error = message;
          return Promise.resolve(undefined);
        },
      },
      () => vscode.commands.executeCommand('nixosGenerations.checkoutGenerationCommit', withRevision.generation),
    );
    assert.match(error, /is not in .*fetch it first/);
  });

  describe('a task runs exactly what its dialog showed', () => {
    const flake = path.join(workspace, 'flake.nix');
    /** Runs the switch command with the workspace flake's only host renamed; returns the dialog and the error. */
    const switchWithHost = async (nixName: string): Promise<{ asked: string; error: string; calls: FakeCall[] }> => {
      const original = fs.readFileSync(flake, 'utf8');
      fs.writeFileSync(flake, original.replace('nixosConfigurations.nixbox', `nixosConfigurations.${nixName}`));
      const fakeBefore = fakeCalls().length;
      let asked = '';
      let shownCommand = '';
      let error = '';
      try {
        await withDialogs(
          {
            // first "Show Command" (the exact command opens beside), then go ahead
            showWarningMessage: (message: string, ...rest: unknown[]) => {
              const buttons = rest.slice(1) as string[];
              if (asked === '') {
                asked = `${message}\n${(rest[0] as { detail?: string }).detail ?? ''}`;
                assert.ok(buttons.includes('Show Command'), buttons.join(', '));
                return Promise.resolve('Show Command');
              }
              shownCommand = vscode.window.activeTextEditor?.document.getText() ?? '';
              return Promise.resolve('Switch');
            },
            showInformationMessage: () => Promise.resolve(undefined),
            showErrorMessage: (message: string) => {
              error = message;
              return Promise.resolve(undefined);
            },
          },
          () => vscode.commands.executeCommand('nixosGenerations.switch'),
        );
      } finally {
        fs.writeFileSync(flake, original);
      }
      const calls = fakeCalls()
        .slice(fakeBefore)
        .filter((c) => c.prog === 'nixos-rebuild' && !c.argv.includes('--help'));
      return { asked: shownCommand || asked, error, calls };
    };

    it('passes a host name with $, quotes and parentheses through byte for byte', async () => {
      const host = `h-$HOME-$(id)-'q'-%PATH%`;
      const { asked, error, calls } = await switchWithHost(JSON.stringify(host));
      assert.equal(error, '');
      assert.equal(calls.length, 1, JSON.stringify(calls));
      // "Show Command" showed the command; split it as a POSIX shell would (quoted words, no expansion)
      const shown = asked.trim().split('\n').pop()!;
      const r = spawnSync('sh', ['-c', 'eval "set -- $1"; printf "%s\\0" "$@"', 'sh', shown], { encoding: 'utf8' });
      const words = r.stdout.split('\0').slice(0, -1);
      assert.equal(path.basename(words[0]!), 'nixos-rebuild', shown);
      assert.deepEqual(calls[0]!.argv, words.slice(1), 'the task received the argv the dialog showed');
      assert.equal(calls[0]!.argv.find((a) => a.includes('#'))!.split('#')[1], host);
    });

    it('refuses ${…} from the repository before any task runs (VS Code would substitute it)', async () => {
      const { error, calls } = await switchWithHost('"h-\\${env:HOME}-\\${input:x}"');
      assert.deepEqual(calls, [], 'nixos-rebuild never ran');
      assert.match(error, /h-\$\{env:HOME\}-\$\{input:x\}.*contains "\$\{", which VS Code would replace/);
    });
  });
});

// The e2e scenarios for what a user sees (issue 13): each one drives the real UI and checks what it shows, with
// screenshots in a light and a dark theme (and high contrast where colours matter) kept in the output directory.
//
//   machine           "Check Out This Generation's Commit" finds the commit in the workspace repository; Rebuild →
//                     switch builds a new generation from the workspace (HEAD's commit), activated and boot
//                     default, the status bar follows; Roll Back offers and activates the one activated before.
//   toolbar cleanup   a row right-clicked earlier and another row selected; the view's toolbar "Delete Old
//                     Generations…" must still ask which generations go (keep N / older than / choose), and never
//                     go straight to "Delete 1 generation…" of a row.
//   home-manager      the row context menu "Compare Generations…" on a home-manager generation: the page names the
//                     profile, compares with its current generation, charts home-manager's closures (not the
//                     system's), shows no kernel card; the rows say "current", never "boot default".
//   diagnostics       configuration.nix with stateVersion "26.11" (newer than nixpkgs): the quick fixes offer the value at
//                     HEAD and the activated generation's, and this machine's first release, each saying why; applying
//                     one writes it. "21.03": the fix offers 21.05 and the hover shows the message once. Without
//                     stateVersion: the warning is in configuration.nix and its fix proposes the oldest generation's
//                     release ("this machine was installed with …"). Light and dark.
//   rebuild settings  with nixosGenerations.rebuildCommand naming no program, Rebuild says so before asking anything,
//                     and its Open Settings button opens the setting.
//   profile menu      a profile row's context menu: refresh, compare (that profile's generations), delete old
//                     generations of that profile (the keep N / older than / choose picker for it). Light and dark.
//   filter            the view's Filter Generations… with "24.05": only those rows stay, the view says
//                     "filter: 24.05 (N of M)"; its clear button brings every row back. Light and dark.
//   compare page      package kinds readable (theme foreground, contrast >= 4.5) in light, dark and high contrast;
//                     no wrapped names or sizes; a legend under the chart; no ∅ / ε / "?" placeholders.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sleep } from '../lib/codeserver.mjs';
import { norm, visible, workbench } from './workbench.mjs';

export const THEMES = {
  light: 'Light Modern',
  dark: 'Dark Modern',
  'high-contrast': 'Dark High Contrast',
};

/** Switches the colour theme the way a user does ("Preferences: Color Theme") and waits until it applies. */
export async function setTheme(page, theme) {
  const cls = theme === 'light' ? 'vs' : theme === 'dark' ? 'vs-dark' : 'hc-black';
  if (await page.locator(`.monaco-workbench.${cls}`).count()) return;
  const ui = workbench(page);
  const name = THEMES[theme];
  await page.keyboard.press('F1');
  await ui.quickInput.waitFor({ state: 'visible' });
  await ui.quickInput.fill('>Preferences: Color Theme');
  // the entry itself, not "Browse Color Themes in Marketplace" (offline)
  await page
    .getByRole('option', { name: /^Preferences: Color Theme(?!s)/ })
    .first()
    .click();
  await page.locator('.quick-input-widget input[placeholder*="Color Theme"]').first().waitFor({ state: 'visible' });
  await ui.quickInput.fill(name);
  await page
    .getByRole('option', { name: new RegExp(`^${name}\\b`) })
    .first()
    .waitFor();
  await page.keyboard.press('Enter');
  await page.locator(`.monaco-workbench.${cls}`).first().waitFor({ timeout: 15000 });
  await sleep(500);
}

/** WCAG contrast ratio of two CSS colours "rgb(r, g, b)" / "rgba(...)". */
export function contrast(fg, bg) {
  const parse = (c) => (/rgba?\(([^)]+)\)/.exec(c)?.[1] ?? '0,0,0').split(',').map((v) => Number(v.trim()));
  const lum = ([r, g, b]) => {
    const f = (v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const [a, b] = [lum(parse(fg)), lum(parse(bg))].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}

/**
 * ctx: { page, fixture, check, shot, log, rowFor, hmRowFor, historyFile, timeout }. Every scenario catches its own
 * failure (a failed check with the reason) so the next one still runs.
 */
export async function runUxScenarios(ctx) {
  const { page, fixture, check, shot, log, rowFor, hmRowFor } = ctx;
  const T = ctx.timeout ?? 30000;
  const ui = workbench(page, { timeout: T });
  const manifest = fixture.manifest;
  const hmManifest = fixture.hmManifest ?? [];

  const scenario = async (title, body) => {
    if (ctx.only?.length && !ctx.only.includes(title)) return;
    const t0 = Date.now();
    try {
      await body();
    } catch (e) {
      check(`${title}: ran to the end`, false, String((e && e.message) || e));
      await shot(`fail-${title.replace(/[^a-z0-9]+/gi, '-')}.png`).catch(() => undefined);
    }
    log(`${title}: ${Date.now() - t0} ms`);
    await page.keyboard.press('Escape');
    await ui.tidy().catch(() => undefined);
  };

  // ---------------------------------------------------------------------------------------- rows fit
  // At VS Code's default sidebar width every generation row shows its whole description (states, release, age,
  // short commit) without an ellipsis, and the view's title is not cut.
  await scenario('rows fit', async () => {
    const sash = async (dx) => {
      const box = await page.locator('.part.sidebar').boundingBox();
      const edge = box.x + box.width;
      await page.mouse.move(edge + 1, 400);
      await page.mouse.down();
      await page.mouse.move(edge + 1 + dx, 400, { steps: 8 });
      await page.mouse.up();
      return box.width;
    };
    const wide = (await page.locator('.part.sidebar').boundingBox()).width;
    // back to the default width (300 px: VS Code's default side bar)
    await sash(300 - wide);
    try {
      for (const theme of ['light', 'dark']) {
        await setTheme(page, theme);
        const cut = await page.locator('.part.sidebar .monaco-list-row[aria-label*="eneration "]').evaluateAll((rows) =>
          rows
            .map((row) => {
              const box = row.querySelector('.monaco-icon-label-container');
              return box && box.scrollWidth > box.clientWidth + 1 ? row.getAttribute('aria-label') : null;
            })
            .filter(Boolean),
        );
        const width = Math.round((await page.locator('.part.sidebar').boundingBox()).width);
        const title = page.locator('.part.sidebar .composite.title .title-label').first();
        const titleText = norm(await title.innerText());
        const titleCut = await title.evaluate((el) => {
          const h = el.querySelector('h2') || el;
          return h.scrollWidth > h.clientWidth + 1;
        });
        check(
          `rows fit (${theme}): at ${width} px every generation row shows its whole description`,
          cut.length === 0,
          cut.slice(0, 3),
        );
        check(
          `rows fit (${theme}): the view's title reads "${titleText}", not cut, not "…: Generations"`,
          !titleCut && !/:\s*generations/i.test(titleText) && /NIXOS GENERATIONS/i.test(titleText),
          titleText,
        );
        await shot(`ux-rows-${theme}.png`);
      }
    } finally {
      const now = (await page.locator('.part.sidebar').boundingBox()).width;
      await sash(wide - now);
    }
  });

  // ---------------------------------------------------------------------------------------- diagnostics
  // The stateVersion quick fixes in configuration.nix, with what the explorer knows of this machine: its activated
  // generation's commit (a commit of the workspace) and its first generation's release.
  await scenario('diagnostics', async () => {
    const config = path.join(fixture.workspace, 'configuration.nix');
    const original = fs.readFileSync(config, 'utf8');
    const first = manifest.find((g) => g.n === 1 && !g.isMissing);
    const editor = page.locator('.editor-instance .monaco-editor').first();
    // writes configuration.nix and opens it; the editor may still hold the text it had (a model kept after closing),
    // so it is reverted to the disk's until it shows what was written
    const open = async (text, shows) => {
      await ui.runCommand('View: Close All Editors');
      fs.writeFileSync(config, text);
      await page.keyboard.press('Control+P');
      await ui.quickInput.waitFor({ state: 'visible' });
      await ui.quickInput.fill('configuration.nix');
      await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'configuration.nix' }).first().waitFor();
      await page.keyboard.press('Enter');
      await editor.waitFor({ state: 'visible' });
      for (let attempt = 0; ; attempt++) {
        const now = norm(await editor.locator('.view-lines').innerText());
        if (shows(now)) return;
        if (attempt === 10) throw new Error(`configuration.nix does not show what was written: ${now}`);
        await ui.runCommand('File: Revert File');
        await sleep(500);
      }
    };
    // F8 goes to the diagnostic whose message matches (the marker widget shows it), Escape leaves the cursor there
    const goToProblem = async (message) => {
      const widget = page.locator('.marker-widget', { hasText: message }).first();
      for (let attempt = 0; attempt < 20; attempt++) {
        await editor.click({ position: { x: 200, y: 5 } });
        await page.keyboard.press('Control+Home');
        // the file's problems in turn (a service hint, the change against HEAD, …), or the server has not answered yet
        for (let next = 0; next < 5; next++) {
          await page.keyboard.press('F8');
          if (await visible(widget, 1000)) return norm(await widget.innerText());
        }
        await page.keyboard.press('Escape');
      }
      throw new Error(`no diagnostic "${message}" in configuration.nix`);
    };
    const quickFixes = async () => {
      await page.keyboard.press('Escape');
      await page.keyboard.press('Control+.');
      const menu = page.locator('.action-widget').first();
      await menu.waitFor({ state: 'visible' });
      await sleep(300);
      return (await menu.locator('.action-list-item, .monaco-list-row').allInnerTexts()).map(norm).filter(Boolean);
    };
    try {
      // 1. Newer than nixpkgs (the workspace's flake follows nixos-24.11)
      await open(original.replace(/system\.stateVersion = "[^"]*"/, 'system.stateVersion = "26.11"'), (t) =>
        t.includes('"26.11"'),
      );
      for (const theme of ['light', 'dark']) {
        await setTheme(page, theme);
        await goToProblem('newer than the nixpkgs release');
        const fixes = await quickFixes();
        await shot(`ux-diagnostics-newer-${theme}.png`);
        check(
          `diagnostics (${theme}): "26.11" offers "24.05" as the value at HEAD and the activated generation's`,
          fixes.some((f) =>
            /^Use "24\.05": the value at HEAD; the value the activated generation \([0-9a-f]{7}\)/.test(f),
          ),
          fixes,
        );
        check(
          `diagnostics (${theme}): "26.11" offers the release this machine was installed with (generation 1's)`,
          !first ||
            fixes.some((f) => f.startsWith(`Use "${first.release}": this machine was installed with ${first.release}`)),
          fixes,
        );
        await page.keyboard.press('Escape');
      }
      await goToProblem('newer than the nixpkgs release');
      await quickFixes();
      await page
        .locator('.action-widget .action-list-item, .action-widget .monaco-list-row', { hasText: 'the value at HEAD' })
        .first()
        .click();
      let applied = '';
      for (let i = 0; i < 20 && !/system\.stateVersion = "24\.05"/.test(applied); i++) {
        await sleep(250);
        applied = norm(await editor.locator('.view-lines').innerText());
      }
      check('diagnostics: applying the fix writes "24.05"', /system\.stateVersion = "24\.05"/.test(applied), applied);
      await ui.runCommand('File: Revert File');

      // 2. "21.03": the nearest real release, and a hover that says the message once
      await open(original.replace(/system\.stateVersion = "[^"]*"/, 'system.stateVersion = "21.03"'), (t) =>
        t.includes('"21.03"'),
      );
      await goToProblem('is not a NixOS release');
      const fixes = await quickFixes();
      check(
        'diagnostics: "21.03" offers "21.05", the release it became',
        fixes.some((f) => f.startsWith('Use "21.05": the release "21.03" became')),
        fixes,
      );
      await page.keyboard.press('Escape');
      await ui.runCommand('Show or Focus Hover');
      const hover = page.locator('.monaco-hover', { hasText: 'is not a NixOS release' }).first();
      const hoverText = (await visible(hover, 10000)) ? await hover.innerText() : '';
      check(
        'diagnostics: the "21.03" hover shows its message once',
        hoverText.split('is not a NixOS release').length === 2,
        norm(hoverText),
      );
      await page.keyboard.press('Escape');

      // 3. Missing: in configuration.nix (the module the host's builder imports), with the machine's release
      await open(
        original.replace(/\n[^\n]*\n\s*system\.stateVersion = "[^"]*";/, ''),
        (t) => !t.includes('stateVersion'),
      );
      for (const theme of ['light', 'dark']) {
        await setTheme(page, theme);
        const message = await goToProblem('sets no system.stateVersion');
        const fixes = await quickFixes();
        await shot(`ux-diagnostics-missing-${theme}.png`);
        check(
          `diagnostics (${theme}): the missing stateVersion is reported in configuration.nix`,
          /NixOS configuration nixbox sets no system\.stateVersion/.test(message),
          message,
        );
        check(
          `diagnostics (${theme}): its fix proposes the release this machine was installed with (${first?.release})`,
          !first ||
            fixes.some((f) =>
              f.startsWith(
                `Set system.stateVersion = "${first.release}" in configuration.nix: this machine was installed with ${first.release}`,
              ),
            ),
          fixes,
        );
        await page.keyboard.press('Escape');
      }
    } finally {
      fs.writeFileSync(config, original);
    }
  });

  // ---------------------------------------------------------------------------------------- profile menu
  await scenario('profile menu', async () => {
    const profileRow = (name) =>
      page.locator('.part.sidebar .monaco-list-row', { hasText: new RegExp(`${name}\\s*\\d+ generations?`) }).first();
    for (const theme of ['light', 'dark']) {
      await setTheme(page, theme);
      await profileRow('system').click({ button: 'right' });
      const menu = page.locator('.context-view .monaco-menu, .monaco-menu-container').first();
      await menu.waitFor({ state: 'visible' });
      const items = (await page.getByRole('menuitem').allInnerTexts()).map(norm).filter(Boolean);
      await shot(`ux-profile-menu-${theme}.png`);
      check(
        `profile menu (${theme}): refresh, compare and delete old generations of the profile`,
        items.some((t) => /^Refresh/.test(t)) &&
          items.some((t) => /^Compare Generations/.test(t)) &&
          items.some((t) => /^Delete Old Generations of This Profile/.test(t)),
        items,
      );
      await page.keyboard.press('Escape');
    }
    // delete old generations of the home-manager profile: its own picker, never straight to a deletion
    await ui.contextMenu(profileRow('home-manager'), /^Delete Old Generations of This Profile/);
    const picker = page.locator('.quick-input-widget .quick-input-title', { hasText: 'Clean up home-manager' }).first();
    check('profile menu: deleting asks which generations of home-manager go', await visible(picker, T));
    await page.keyboard.press('Escape');
    // compare from the profile row: that profile's generations only
    await ui.contextMenu(profileRow('home-manager'), /^Compare Generations/);
    const compare = page
      .locator('.quick-input-widget .quick-input-title', { hasText: /Compare home-manager: which generation/ })
      .first();
    const shown = await visible(compare, T);
    const rows = shown ? (await page.locator('.quick-input-widget .monaco-list-row').allInnerTexts()).map(norm) : [];
    check(
      `profile menu: compare offers home-manager's ${hmManifest.length} generations, not the system's`,
      shown && hmManifest.length > 0 && rows.length === hmManifest.length,
      rows,
    );
    await page.keyboard.press('Escape');
  });

  // ---------------------------------------------------------------------------------------- filter
  await scenario('filter', async () => {
    const systemRows = () =>
      page
        .locator('.part.sidebar .monaco-list-row[aria-label^="Generation "]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') || ''));
    const expected = manifest.filter((g) => g.release === '24.05' && !g.isMissing).map((g) => g.n);
    const before = await systemRows();
    await page.locator('.part.sidebar .action-label[aria-label^="Filter Generations"]').first().click();
    await ui.quickInput.waitFor({ state: 'visible' });
    await ui.quickInput.fill('24.05');
    await page.keyboard.press('Enter');
    await ui.quickInput.waitFor({ state: 'hidden' });
    let rows = [];
    for (let i = 0; i < 20; i++) {
      rows = await systemRows();
      if (rows.length === expected.length) break;
      await sleep(250);
    }
    const header = norm(await page.locator('.part.sidebar').first().innerText()).slice(0, 400);
    check(
      `filter: "24.05" leaves generations ${expected.join(', ')} (of ${before.length})`,
      rows.length === expected.length && rows.every((r) => r.includes('24.05')),
      rows,
    );
    check(
      'filter: the view says what is filtered and how many rows are left',
      /filter: 24\.05 \(\d+ of \d+\)/i.test(header),
      header.slice(0, 200),
    );
    for (const theme of ['light', 'dark']) {
      await setTheme(page, theme);
      await shot(`ux-filter-${theme}.png`);
    }
    await page.locator('.part.sidebar .action-label[aria-label^="Clear the Generations Filter"]').first().click();
    for (let i = 0; i < 20; i++) {
      rows = await systemRows();
      if (rows.length === before.length) break;
      await sleep(250);
    }
    check('filter: clearing it shows every generation again', rows.length === before.length, rows.length);
  });

  // ---------------------------------------------------------------------------------------- rebuild settings
  // A rebuild that can only fail says why at once, with the setting that fixes it (issue 13: it asked for an action
  // first and then failed without a way to the settings).
  await scenario('rebuild settings', async () => {
    const file = ctx.machineSettingsFile;
    const saved = fs.readFileSync(file, 'utf8');
    try {
      fs.writeFileSync(
        file,
        JSON.stringify({ ...JSON.parse(saved), 'nixosGenerations.rebuildCommand': 'no-such-nixos-rebuild' }, null, 2),
      );
      const toast = ui.toast(/nixos-rebuild was not found/);
      // the settings file is read again when it changes; until then Rebuild still asks for an action
      for (let attempt = 0; attempt < 10 && !(await visible(toast, 100)); attempt++) {
        await sleep(1000);
        await ui.runCommand('NixOS: Rebuild (switch, boot, test, build, dry-activate)…');
        if (await visible(toast, 3000)) break;
        await page.keyboard.press('Escape');
      }
      const shown = await visible(toast, 1000);
      const text = shown ? norm(await toast.innerText()) : '';
      await shot('ux-rebuild-settings.png');
      check(
        'rebuild settings: Rebuild names the missing program and the setting, before asking for an action',
        shown && /"no-such-nixos-rebuild" \(setting nixosGenerations\.rebuildCommand\)/.test(text),
        text || (await ui.toastTexts()),
      );
      const buttons = shown ? (await toast.locator('.monaco-button').allInnerTexts()).map(norm) : [];
      check('rebuild settings: the error offers Open Settings', buttons.includes('Open Settings'), buttons);
      if (buttons.includes('Open Settings')) {
        await ui.answerToast(/nixos-rebuild was not found/, 'Open Settings');
        const search = page
          .locator(
            '.settings-editor .settings-header .suggest-input-container textarea, .settings-editor .settings-header input',
          )
          .first();
        await search.waitFor({ state: 'visible' });
        const query = await page
          .locator('.settings-editor .settings-header .view-lines')
          .first()
          .innerText()
          .catch(() => '');
        const setting = page.locator('.settings-editor .setting-item', { hasText: /Rebuild Command/i }).first();
        check(
          'rebuild settings: Open Settings shows nixosGenerations.rebuildCommand',
          (await visible(setting, 10000)) && /rebuildCommand/.test(query),
          norm(query),
        );
        await shot('ux-rebuild-settings-open.png');
      }
    } finally {
      fs.writeFileSync(file, saved);
    }
  });

  // ---------------------------------------------------------------------------------------- the machine
  // The workspace is the configuration repository the generations were built from; Rebuild builds a new generation
  // from it (the fixture's nixos-rebuild stand-in) and activation moves run/current-system, as on NixOS.
  await scenario('machine', async () => {
    const revisions = fs.readFileSync(path.join(fixture.dir, 'revisions.txt'), 'utf8').trim().split('\n');
    const git = (...args) => spawnSync('git', ['-C', fixture.workspace, ...args], { encoding: 'utf8' }).stdout.trim();
    const head = git('rev-parse', 'HEAD');
    const activatedLink = path.join(fixture.runDir, 'current-system');
    const before = {
      link: fs.readlinkSync(fixture.profile),
      activated: fs.readlinkSync(activatedLink),
      links: fs.readdirSync(path.dirname(fixture.profile)),
      history: fs.existsSync(ctx.historyFile) ? fs.readFileSync(ctx.historyFile) : null,
    };
    const byPath = new Map(manifest.map((g) => [g.toplevel, g.n]));
    const activatedN = byPath.get(fs.realpathSync(activatedLink));
    try {
      // 1. Check out the activated generation's commit: found in the workspace repository
      await ui.contextMenu(rowFor(activatedN), /^Check Out This Generation's Commit/);
      const toast = ui.toast(/is checked out in/);
      const shown = await visible(toast, T);
      const text = shown ? norm(await toast.innerText()) : '';
      const worktree = /checked out in (\S+?)(?:\.\s|\s\(|\.?$)/.exec(text)?.[1];
      const checkedOut =
        worktree && fs.existsSync(worktree)
          ? spawnSync('git', ['-C', worktree, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim()
          : null;
      check(
        `machine: "Check Out This Generation's Commit" on ${activatedN} checks out its commit from the workspace repository`,
        checkedOut === revisions[activatedN - 1],
        { text, checkedOut, expected: revisions[activatedN - 1] },
      );
      await shot('ux-machine-checkout.png');
      await ui.tidy();

      // 2. Rebuild (the toolbar's biggest button) → switch: a new generation from HEAD, activated and boot default
      const next =
        Math.max(
          ...fs.readdirSync(path.dirname(fixture.profile)).map((e) => Number(/-(\d+)-link$/.exec(e)?.[1] ?? 0)),
        ) + 1;
      await page.locator('.part.sidebar .title-actions .action-label[aria-label^="Rebuild"]').first().click();
      await ui.quickPick('nixos-rebuild', 'switch');
      const asked = await ui.answerDialog('Run nixos-rebuild switch?', 'Switch');
      const row = page
        .locator(`.part.sidebar .monaco-list-row[aria-label^="Generation ${next},"][aria-label*="activated"]`)
        .first();
      const built = await visible(row, 60000);
      const label = built ? norm(await row.getAttribute('aria-label')) : '';
      check(
        `machine: Rebuild → switch builds generation ${next} from the workspace (commit ${head.slice(0, 7)}), activated and boot default`,
        built && label.includes('boot default') && label.includes(head.slice(0, 7)),
        { asked, label },
      );
      const status = page.locator('.part.statusbar .statusbar-item', { hasText: new RegExp(`NixOS ${next}\\b`) });
      check(`machine: the status bar follows (NixOS ${next})`, await visible(status.first(), T));
      await shot('ux-machine-rebuilt.png');
      await ui.tidy();

      // 3. Roll Back: to the generation activated before the rebuild
      await page.locator('.part.sidebar .title-actions .action-label[aria-label*="More Actions"]').first().click();
      await page
        .getByRole('menuitem', { name: /^Roll Back/ })
        .first()
        .click();
      const dialog = ui.dialog(new RegExp(`Roll back to generation ${activatedN} of system\\?`));
      const offered = await visible(dialog, T);
      const dialogText = offered ? norm(await dialog.innerText()) : '';
      await shot('ux-machine-rollback-dialog.png');
      check(
        'machine: the Roll Back dialog says what happens in words (no "Switch:", no script, no raw ISO time)',
        offered &&
          !/Switch:|<script>|\bsh '|\d{4}-\d\d-\d\dT\d\d/.test(dialogText) &&
          /was activated before/.test(dialogText),
        dialogText,
      );
      // "Show Command": the exact command line opens beside, then the same question comes back
      let commandText = '';
      if (offered) {
        await dialog.locator('.dialog-buttons .monaco-button', { hasText: 'Show Command' }).first().click();
        const editor = page.locator('.editor-instance .view-lines').last();
        if (await visible(editor, T)) commandText = norm(await editor.innerText());
      }
      const again = await visible(dialog, T);
      check(
        'machine: "Show Command" shows the exact command (the switch script and its arguments), then asks again',
        again &&
          /nixos-generations-switch/.test(commandText) &&
          /# .<script>. above is this script/.test(commandText) &&
          commandText.includes(fixture.profile),
        commandText.slice(0, 300),
      );
      await shot('ux-machine-show-command.png');
      if (again) await dialog.locator('.dialog-buttons .monaco-button', { hasText: 'Roll Back' }).first().click();
      const back = page
        .locator(`.part.sidebar .monaco-list-row[aria-label^="Generation ${activatedN},"][aria-label*="activated"]`)
        .first();
      check(
        `machine: Roll Back offers generation ${activatedN} (activated before the rebuild) and activates it`,
        offered && (await visible(back, 60000)),
        dialogText,
      );
    } finally {
      // put the machine back: the profile's links, current-system, the workspace
      const extra = fs.readdirSync(path.dirname(fixture.profile)).filter((e) => !before.links.includes(e));
      for (const e of extra) fs.rmSync(path.join(path.dirname(fixture.profile), e), { force: true });
      fs.rmSync(fixture.profile, { force: true });
      fs.symlinkSync(before.link, fixture.profile);
      fs.rmSync(activatedLink, { force: true });
      fs.symlinkSync(before.activated, activatedLink);
      spawnSync('git', ['-C', fixture.workspace, 'worktree', 'prune'], { encoding: 'utf8' });
      // the activation history, as before (the switch scenarios count their own records)
      if (before.history === null) fs.rmSync(ctx.historyFile, { force: true });
      else fs.writeFileSync(ctx.historyFile, before.history);
      await ui.tidy().catch(() => undefined);
      await ui.runCommand('NixOS: Refresh Generations').catch(() => undefined);
    }
  });

  // ---------------------------------------------------------------------------------------- pin label
  // One diff view with Apply / Cancel on its title bar; no modal over it; after Apply no tab is left behind (in
  // particular none struck through as deleted).
  await scenario('pin label', async () => {
    const flake = path.join(fixture.workspace, 'flake.nix');
    const original = fs.readFileSync(flake, 'utf8');
    try {
      for (const theme of ['light', 'dark']) {
        await setTheme(page, theme);
        await ui.runCommand('NixOS: Pin Label and configurationRevision to the Git Commit');
        const tab = page.locator('.tabs-container .tab', { hasText: 'pinned to the git commit' }).first();
        const opened = await visible(tab, T);
        const apply = page.locator('.editor-actions .action-label[aria-label="Apply"]').first();
        const question = ui.toast(/Apply this edit to flake\.nix\?/);
        const asked = await visible(question, T);
        const modal = await page.locator('.monaco-dialog-box').count();
        check(
          `pin label (${theme}): the edit is one diff view with Apply / Cancel, the question beside it (no modal)`,
          opened && (await visible(apply, 5000)) && asked && modal === 0,
          { opened, asked, modal },
        );
        await shot(`ux-pin-diff-${theme}.png`);
        if (theme === 'light') {
          // Cancel: nothing changes, the diff closes
          await page.locator('.editor-actions .action-label[aria-label="Cancel"]').first().click();
          await tab.waitFor({ state: 'hidden', timeout: T }).catch(() => undefined);
          check(
            'pin label: Cancel leaves flake.nix as it was and closes the diff',
            fs.readFileSync(flake, 'utf8') === original && (await tab.count()) === 0,
          );
          await ui.tidy();
          continue;
        }
        await apply.click();
        const done = ui.toast(/pinned flake\.nix/);
        const applied = await visible(done, T);
        const leftTabs = (await page.locator('.tabs-container .tab').allInnerTexts()).map(norm);
        const struck = await page.locator('.tabs-container .tab .strikethrough, .tabs-container .tab.deleted').count();
        check(
          'pin label: Apply edits flake.nix, closes the diff, leaves no struck-through tab',
          applied &&
            fs.readFileSync(flake, 'utf8').includes('configurationRevision') &&
            fs.readFileSync(flake, 'utf8') !== original &&
            !leftTabs.some((t) => t.includes('pinned')) &&
            struck === 0,
          { leftTabs, struck },
        );
        await shot('ux-pin-applied.png');
      }
    } finally {
      fs.writeFileSync(flake, original);
      await ui.tidy().catch(() => undefined);
    }
  });

  // ---------------------------------------------------------------------------------------- toolbar cleanup
  await scenario('toolbar cleanup', async () => {
    const deletable = manifest.filter((g) => !g.isMissing).sort((a, b) => a.n - b.n);
    const [rightClicked, selected] = deletable;
    // a row right-clicked (its menu dismissed), then another row selected
    await rowFor(rightClicked.n).click({ button: 'right' });
    await page.getByRole('menuitem').first().waitFor({ timeout: T });
    await page.keyboard.press('Escape');
    await rowFor(selected.n).click();
    for (const theme of ['light', 'dark']) {
      await setTheme(page, theme);
      const more = page.locator('.part.sidebar .title-actions .action-label[aria-label*="More Actions"]').first();
      await more.click();
      await page
        .getByRole('menuitem', { name: /^Delete Old Generations/ })
        .first()
        .click();
      const picker = page.locator('.quick-input-widget .quick-input-title', { hasText: 'Clean up system' }).first();
      const asked = await visible(picker, T);
      const options = asked
        ? (await page.locator('.quick-input-widget .monaco-list-row').allInnerTexts()).map(norm)
        : [];
      const dialog = await ui.dialog(/Delete \d+ generation/).isVisible();
      check(
        `toolbar cleanup (${theme}): "Delete Old Generations…" asks keep-N / older-than / choose, ignoring the rows`,
        asked &&
          !dialog &&
          ['Keep the newest', 'older than', 'Choose generations'].every((o) => options.join('|').includes(o)),
        { options, dialog },
      );
      await shot(`ux-toolbar-cleanup-${theme}.png`);
      await page.keyboard.press('Escape');
    }
  });

  // ---------------------------------------------------------------------------------------- home-manager compare
  if (hmManifest.length >= 2) {
    await scenario('home-manager compare', async () => {
      const hmNewest = Math.max(...hmManifest.map((g) => g.n));
      const hmRows = (
        await page
          .locator('.part.sidebar .monaco-list-row[aria-label*="home-manager generation"]')
          .evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') || ''))
      ).map(norm);
      check(
        'home-manager rows: the current one says "current", none says "boot default"',
        hmRows.length === hmManifest.length &&
          hmRows.some((r) => /\bcurrent\b/.test(r)) &&
          hmRows.every((r) => !r.includes('boot default')),
        hmRows,
      );
      const older = hmNewest - 1;
      for (const theme of ['light', 'dark']) {
        await setTheme(page, theme);
        await ui.contextMenu(hmRowFor(older), /^Compare Generations/);
        const title = `home-manager: generations ${hmNewest} → ${older}`;
        const frame = await ui.webview(title);
        await frame.locator('h1').first().waitFor({ timeout: T });
        const heading = norm(await frame.locator('h1').first().innerText());
        const cards = (await frame.locator('.card .label').allInnerTexts()).map(norm);
        const bars = await frame.locator('svg rect.bar').count();
        const legend = norm(
          await frame
            .locator('.legend')
            .first()
            .innerText()
            .catch(() => ''),
        );
        check(
          `home-manager compare (${theme}): the title names the profile and compares with the current generation`,
          heading === title,
          heading,
        );
        check(`home-manager compare (${theme}): no kernel card`, !cards.includes('Kernel'), cards);
        check(
          `home-manager compare (${theme}): the chart has one bar per home-manager generation (${hmManifest.length}), with a legend`,
          bars === hmManifest.filter((g) => !g.isMissing).length && legend.includes('the two compared'),
          { bars, legend },
        );
        await shot(`ux-hm-compare-${theme}.png`);
        await ui.runCommand('View: Close All Editors');
      }
    });
  }

  // ---------------------------------------------------------------------------------------- compare page
  await scenario('compare page', async () => {
    const present = manifest.filter((g) => !g.isMissing).sort((a, b) => a.n - b.n);
    // the oldest against the activated one: versions go down, several packages change
    const oldest = present[0];
    for (const theme of ['light', 'dark', 'high-contrast']) {
      await setTheme(page, theme);
      await ui.contextMenu(rowFor(oldest.n), /^Compare Generations/);
      const frame = await ui.webview(/system: generations \d+ → \d+/);
      await frame.locator('td.kind').first().waitFor({ timeout: T });
      const probe = await frame.locator('body').evaluate((body) => {
        const { getComputedStyle } = body.ownerDocument.defaultView;
        const bg = getComputedStyle(body).backgroundColor;
        const kinds = [...document.querySelectorAll('td.kind')].map((td) => ({
          text: td.textContent,
          color: getComputedStyle(td).color,
        }));
        const wrapped = [...document.querySelectorAll('td.name, td.ver, td.num, td.kind')]
          .filter((td) => td.textContent && td.getClientRects().length > 0)
          .filter((td) => {
            const range = document.createRange();
            range.selectNodeContents(td);
            return range.getClientRects().length > 1;
          })
          .map((td) => td.textContent);
        return { bg, kinds, wrapped, text: document.body.innerText };
      });
      const worst = Math.min(...probe.kinds.map((k) => contrast(k.color, probe.bg)));
      check(
        `compare page (${theme}): change kinds readable, contrast ${worst.toFixed(1)} >= 4.5`,
        probe.kinds.length > 0 && worst >= 4.5,
        probe.kinds.slice(0, 3),
      );
      check(
        `compare page (${theme}): no wrapped package names, versions or sizes`,
        probe.wrapped.length === 0,
        probe.wrapped,
      );
      check(
        `compare page (${theme}): no ∅ / ε / "?" placeholders`,
        !/[\u2205\u03b5]|\? \u2192|\u2192 \?/.test(probe.text),
        probe.text.slice(0, 300),
      );
      // every size through the extension's one rounding function: "8.6 KiB" in the summary and the rows alike,
      // never a raw byte count the page had to format itself
      const sizes = [...probe.text.matchAll(/[+\-\u00b1]?\d+(?:\.\d+)? (?:B|KiB|MiB|GiB|TiB)\b/g)].map((m) => m[0]);
      const raw = sizes.filter((t) => /^\D?\d{4,} B$/.test(t) || /\.\d{2,}/.test(t));
      check(
        `compare page (${theme}): sizes are formatted one way (one decimal below 100, none for bytes)`,
        sizes.length > 0 && raw.length === 0,
        { raw, sample: sizes.slice(0, 6) },
      );
      await shot(`ux-compare-${theme}.png`);
      await ui.runCommand('View: Close All Editors');
    }
    await setTheme(page, 'dark');
  });
}

#!/usr/bin/env node
// End-to-end test: the packaged extension in a real, offline VS Code (code-server from .vscode-test/), driven by
// Playwright in headless Debian Chromium the way a user would use it, against a real Nix profile of fake NixOS
// generations (test/fixtures/nix-fixture/make-fixture.sh).
//
//   npm run test:e2e                                   (builds dist/ first)
//   node test/e2e/run-e2e.mjs [--vsix FILE | --dev] [--generations N] [--out DIR] [--docs | --no-docs] [--keep]
//                             [--timeout MS] [--confirm-seconds S] [--no-switch] [--no-ux] [--only NAMES]
//
//   (default)    packages the repository with `vsce package --no-dependencies` into a temp VSIX and installs it
//                with `code-server --install-extension` (as a user would; notifications show as toasts)
//   --vsix FILE  installs that VSIX instead (e.g. nixos-generations.vsix from `npm run package`)
//   --dev        loads the repository in extension-development mode instead (no packaging)
//
// The fixture has the three states on three generations (newest: boot default; the one before: activated; the
// first of the newest release, with another kernel: booted), so the view says a reboot is needed.
// Steps and checks: the activity bar shows "NixOS Generations"; the view lists the fixture's profile and every
// generation of manifest.tsv (number + NixOS version; the garbage-collected one by number); the status bar shows
// the activated generation; hovering a generation shows its tooltip; expanding it shows its store path; a new
// generation added to the profile while the view is hidden appears after "NixOS: Refresh Generations" from the
// command palette; no error notification so far. Then, from the generations' context menu (switch-scenarios.mjs;
// skipped with --no-switch and in --dev mode, which shows no notification toasts): a safe switch that is kept, one
// that is not confirmed within --confirm-seconds (default 25: the kept one checks that the countdown notification
// outlives VS Code's toast timeout) and reverts, and "Switch to This Generation…" with
// the action "test", each checked against what the fixture's switch-to-configuration recorded, the profile's links
// and the activation history, and the fixture put back after each.
// --only NAMES (comma-separated) runs only those scenarios of ux-scenarios.mjs (e.g. --only diagnostics).
// Screenshots go to test-results/e2e/ (--out; failed checks of the scenarios leave fail-*.png there). When every
// check passed, the README picture docs/screenshot.png is replaced by 03-expanded.png (not under CI=true unless
// --docs; never with --no-docs).
// Prints `N passed, N failed` last. Exit code: 0 all checks passed, 1 a check failed, 2 harness error.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ROOT,
  installVsix,
  keepTempFiles,
  launchChromium,
  loadPlaywright,
  makeRunDir,
  packageVsix,
  parseArgs,
  reexecUnderCleanup,
  registerCleanupPath,
  remoteUri,
  resolveCodeServer,
  sleep,
  startCodeServer,
  usage,
  workbenchUrl,
} from '../lib/codeserver.mjs';
import { buildMachineFixture, removeFixture } from '../lib/fixture.mjs';
import { removeWatchdogState, runSwitchScenarios } from './switch-scenarios.mjs';
import { runUxScenarios } from './ux-scenarios.mjs';

await reexecUnderCleanup(import.meta.url);

const opt = parseArgs(process.argv.slice(2), {
  vsix: '',
  dev: false,
  generations: '12',
  out: path.join(ROOT, 'test-results', 'e2e'),
  docs: false,
  'no-docs': false,
  keep: false,
  timeout: '60000',
  'confirm-seconds': '25',
  'no-switch': false,
  'no-ux': false,
  only: '',
  help: false,
});
if (opt.help) {
  process.stdout.write(usage(import.meta.url));
  process.exit(0);
}
if (opt.keep) keepTempFiles();
const T = Number(opt.timeout);
const CONFIRM_SECONDS = Number(opt['confirm-seconds']);
const out = path.resolve(opt.out);
fs.mkdirSync(out, { recursive: true });
const DOCS_SHOT = path.join(ROOT, 'docs', 'screenshot.png');
const CONTAINER = 'NixOS Generations';
const REFRESH = 'NixOS: Refresh Generations';

const log = (...a) => console.error('[e2e]', ...a);
const result = { mode: opt.dev ? 'dev' : 'vsix', timings: {}, checks: [], screenshots: [] };
const check = (name, ok, detail) => {
  result.checks.push({ name, ok: !!ok, detail });
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${!ok && detail !== undefined ? ' :: ' + JSON.stringify(detail) : ''}`);
  return !!ok;
};

let server;
let browser;
let dirs;
let fixture;
let workspace;
let vsixTemp;
let docsPng; // this run's picture for the README (out/ may be shared with a concurrent run)
const cleanup = async () => {
  if (browser) await browser.close();
  browser = undefined;
  if (server) await server.stop();
  server = undefined;
  if (dirs) dirs.dispose(opt.keep);
  dirs = undefined;
  if (fixture) removeWatchdogState(fixture.dir);
  if (!opt.keep) {
    if (fixture) removeFixture(fixture.dir); // the workspace is in it
  }
  if (vsixTemp) fs.rmSync(vsixTemp, { recursive: true, force: true });
  fixture = workspace = vsixTemp = undefined;
};
for (const [sig, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
]) {
  process.on(sig, async () => {
    log(`${sig}: stopping`);
    await cleanup();
    process.exit(code);
  });
}

/** The repository packaged into a temp VSIX (removed at the end). */
function packageTempVsix() {
  vsixTemp = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-vsix-'));
  registerCleanupPath(vsixTemp);
  return packageVsix(path.join(vsixTemp, 'nixos-generations.vsix')).file;
}

/** Runs a nix command against the fixture's private store. */
function nix(argv) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...fixture.env } });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();

let exitCode = 2;
const t0 = Date.now();
try {
  for (const f of [path.join(ROOT, 'dist', 'extension.js')]) {
    if (!opt.vsix && !fs.existsSync(f)) throw new Error(`${f} is missing: run 'npm run test:e2e' (it builds first)`);
  }
  const cs = resolveCodeServer();
  const pw = loadPlaywright();

  let t = Date.now();
  // a small faithful NixOS: the configuration repository (the workspace) and its generations, 3 of home-manager
  fixture = buildMachineFixture(Number(opt.generations), { env: { FIXTURE_HM: '3' } });
  result.timings.fixtureMs = Date.now() - t;
  const manifest = fixture.manifest;
  const newest = Math.max(...manifest.map((g) => g.n));
  log(`fixture ${fixture.profile}: ${manifest.length} generations (${result.timings.fixtureMs} ms)`);

  // Machine-scoped settings (code-server's window is remote; see makeRunDir). Tests run as root: no sudo.
  const settings = {
    'nixosGenerations.profiles': [fixture.profile, ...(fixture.hmProfile ? [fixture.hmProfile] : [])],
    'nixosGenerations.runDir': fixture.runDir,
    'nixosGenerations.elevation': 'none',
    'nixosGenerations.rebuildCommand': fixture.rebuildCommand,
    'nixosGenerations.safeSwitch.confirmSeconds': CONFIRM_SECONDS,
  };
  workspace = fixture.workspace;
  dirs = makeRunDir(path.join(out, 'runs'), {}, { keep: opt.keep, machineSettings: settings });
  // Where the fixture's switch-to-configuration records its calls, and the extension its activation history; both
  // inherited by the extension host and the safe-switch watchdog it starts.
  const stcLog = path.join(fixture.dir, 'stc.log');
  const stateDir = path.join(dirs.run, 'state');
  const historyFile = path.join(stateDir, 'activations.jsonl');

  let extraArgs = [];
  let payload;
  if (opt.dev) {
    // A built VS Code web client honours the URL payload only with --enable-smoke-test-driver (which also
    // suppresses notification toasts).
    extraArgs = ['--vscode-option', 'enable-smoke-test-driver'];
  } else {
    t = Date.now();
    const vsix = opt.vsix ? path.resolve(opt.vsix) : packageTempVsix();
    result.timings.packageMs = Date.now() - t;
    const installed = installVsix(cs, dirs, vsix);
    result.timings.installVsixMs = installed.ms;
    log(`installed ${vsix} (package ${result.timings.packageMs} ms, install ${installed.ms} ms)`);
  }
  server = await startCodeServer(cs, dirs, {
    extraArgs,
    extraEnv: {
      ...fixture.env,
      ...fixture.activationEnv,
      NIXOS_FIXTURE_STC_LOG: stcLog,
      NIXOS_GENERATIONS_STATE_DIR: stateDir,
    },
  });
  result.timings.codeServerHealthyMs = server.startMs;
  log(`code-server pid ${server.pid} on ${server.url}`);
  if (opt.dev)
    payload = [
      ['extensionDevelopmentPath', remoteUri(server, ROOT)],
      ['skipWelcome', 'true'],
    ];

  browser = await launchChromium(pw, { width: 1280, height: 800 });
  const page = browser.context.pages()[0] || (await browser.context.newPage());
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e).slice(0, 300)));
  const shot = async (name, file = path.join(out, name)) => {
    const png = await page.screenshot();
    fs.writeFileSync(file, png);
    result.screenshots.push(file);
    log(`screenshot ${path.relative(ROOT, file)} (${Date.now() - t0} ms)`);
    return png;
  };

  const tNav = Date.now();
  await page.goto(workbenchUrl(server, { folder: workspace, payload }));
  await page.locator('.monaco-workbench .part.activitybar').waitFor({ timeout: T });
  result.timings.workbenchMs = Date.now() - tNav;

  // 1. The view container in the activity bar.
  // The whole entry (li), not its icon link: the view's badge ("a reboot is needed") covers part of the link.
  const icon = page
    .locator(
      `.part.activitybar .action-item:has(> a[aria-label^="${CONTAINER}"]), .part.activitybar .action-item[aria-label^="${CONTAINER}"]`,
    )
    .first();
  check(
    `activity bar shows "${CONTAINER}"`,
    await icon.waitFor({ state: 'visible', timeout: T }).then(
      () => true,
      () => false,
    ),
  );
  // Until the rows arrive the view says it is reading the profiles; "No NixOS profile was found" is only for when
  // nothing was found (issue 13: it flashed before every load). Watched from the click until the first row.
  const welcomeSeen = new Set();
  let watching = true;
  const watchWelcome = (async () => {
    while (watching) {
      const text = await page
        .locator('.part.sidebar .welcome-view-content')
        .allInnerTexts()
        .catch(() => []);
      for (const t of text) if (t.trim()) welcomeSeen.add(norm(t));
      await sleep(50);
    }
  })();
  await icon.click();
  // A wider sidebar, so that the generations' descriptions (version, date, commit, state) are readable.
  const sidebarBox = await page.locator('.part.sidebar').boundingBox();
  if (sidebarBox) {
    const edge = sidebarBox.x + sidebarBox.width;
    await page.mouse.move(edge + 1, 400);
    await page.mouse.down();
    await page.mouse.move(edge + 330, 400, { steps: 8 });
    await page.mouse.up();
  }
  const rows = page.locator('.part.sidebar .pane-body .monaco-list-row');
  const rowFor = (n) => page.locator(`.part.sidebar .monaco-list-row[aria-label^="Generation ${n},"]`).first();
  const rowTexts = async () =>
    (await rows.evaluateAll((els) => els.map((e) => `${e.getAttribute('aria-label') || ''} | ${e.innerText}`))).map(
      norm,
    );

  // 2. The tree: the profile, then every generation, newest first.
  const firstRow = rowFor(newest);
  const treeShown = await firstRow.waitFor({ state: 'visible', timeout: T }).then(
    () => true,
    () => false,
  );
  result.timings.firstTreeRowMs = Date.now() - tNav;
  watching = false;
  await watchWelcome;
  check(
    'while loading, the view never says "No NixOS profile was found"',
    ![...welcomeSeen].some((t) => t.includes('No NixOS profile')),
    [...welcomeSeen],
  );
  const title = norm(
    await page
      .locator('.part.sidebar .composite.title')
      .first()
      .innerText()
      .catch(() => ''),
  );
  check('sidebar shows the NixOS Generations container', title.toUpperCase().includes(CONTAINER.toUpperCase()), title);
  check(`tree shows generation ${newest} (the newest)`, treeShown, await rowTexts());
  const texts = await rowTexts();
  result.treeRows = texts;
  check(
    `tree shows the profile "${path.basename(fixture.profile)}" with ${manifest.length} generations`,
    texts.some((r) => r.includes(path.basename(fixture.profile)) && r.includes(`${manifest.length} generations`)),
    texts,
  );
  for (const g of manifest) {
    const row = texts.find((r) => r.startsWith(`Generation ${g.n},`));
    if (g.isMissing) {
      check(`generation ${g.n} (garbage-collected) is listed`, row !== undefined, texts);
    } else {
      check(`generation ${g.n} is listed with NixOS ${g.version}`, row !== undefined && row.includes(g.version), row);
    }
  }

  // The inline "Switch to This Generation…" action (manifest `when` clause on the rows' contextValue) is offered on
  // generations whose store path exists, and not on the garbage-collected one.
  const switchAction = '.actions .action-label[aria-label^="Switch to This Generation"]';
  const present = manifest.find((g) => !g.isMissing && g.n !== newest) ?? manifest.find((g) => !g.isMissing);
  const missing = manifest.find((g) => g.isMissing);
  await rowFor(present.n).hover();
  check(
    `generation ${present.n} offers the inline "Switch to This Generation…" action`,
    (await rowFor(present.n).locator(switchAction).count()) === 1,
  );
  if (missing) {
    await rowFor(missing.n).hover();
    check(
      `garbage-collected generation ${missing.n} offers no switch action`,
      (await rowFor(missing.n).locator(switchAction).count()) === 0 &&
        (await rowFor(missing.n).locator('.actions').count()) === 1,
    );
  }
  await page.mouse.move(1000, 17);

  // 3. The status bar names the activated generation.
  const activatedTarget = fs.realpathSync(path.join(fixture.runDir, 'current-system'));
  const activated = manifest.find((g) => !g.isMissing && fs.realpathSync(g.toplevel) === activatedTarget);
  const status = page.locator('.part.statusbar .statusbar-item', { hasText: /NixOS \d+/ }).first();
  const statusShown = await status.waitFor({ state: 'visible', timeout: T }).then(
    () => true,
    () => false,
  );
  const statusText = statusShown ? norm(await status.innerText()) : null;
  check(
    `status bar shows the activated generation (${activated?.n})`,
    activated && statusText !== null && new RegExp(`NixOS ${activated.n}\\b`).test(statusText),
    statusText,
  );
  await shot('01-explorer.png');

  // 4. Hover: the tooltip of the activated generation.
  const target = rowFor(activated?.n ?? newest);
  const hover = page.locator('.monaco-hover, .workbench-hover').filter({ hasText: `Generation ${activated?.n}` });
  let hoverShown = false;
  for (let attempt = 0; attempt < 3 && !hoverShown; attempt++) {
    // The tooltip opens after the hover delay, only for a pointer that moved onto the row.
    await page.mouse.move(900, 600);
    await target.hover({ position: { x: 40 + attempt * 10, y: 10 } });
    hoverShown = await hover
      .first()
      .waitFor({ state: 'visible', timeout: 5000 })
      .then(
        () => true,
        () => false,
      );
  }
  const hoverText = hoverShown ? norm(await hover.first().innerText()) : null;
  check(
    `hovering generation ${activated?.n} shows its tooltip with the NixOS version`,
    hoverShown && hoverText.includes(activated.version),
    hoverText,
  );
  await shot('02-hover.png');
  await page.mouse.move(900, 500);
  await page.keyboard.press('Escape');

  // 5. Expanding the activated generation shows its details, including its store path.
  await target.locator('.monaco-tl-twistie').click();
  const storeRow = page.locator('.part.sidebar .monaco-list-row', { hasText: 'Store path' }).first();
  const storeShown = await storeRow.waitFor({ state: 'visible', timeout: T }).then(
    () => true,
    () => false,
  );
  const storeText = storeShown
    ? norm(await storeRow.getAttribute('aria-label')) + norm(await storeRow.innerText())
    : '';
  check(
    `expanding generation ${activated?.n} shows its store path`,
    storeShown && activated && storeText.includes(path.basename(activated.toplevel)),
    storeText,
  );

  // The picture for the README: the tree with one generation open and configuration.nix in the editor.
  await page.keyboard.press('Control+P');
  const quickInput = page.locator('.quick-input-widget input').first();
  await quickInput.waitFor({ state: 'visible', timeout: T });
  await quickInput.fill('configuration.nix');
  await page
    .locator('.quick-input-widget .monaco-list-row', { hasText: 'configuration.nix' })
    .first()
    .waitFor({ timeout: T });
  await page.keyboard.press('Enter');
  await page.locator('.tabs-container .tab', { hasText: 'configuration.nix' }).first().waitFor({ timeout: T });
  await page.mouse.move(1000, 17); // over the title bar: no hover, no scrollbar
  await sleep(800); // let hovers fade out and the editor finish rendering
  docsPng = await shot('03-expanded.png');

  // 6. A generation added while the view is hidden (so no file watcher is looking) shows up once
  //    "NixOS: Refresh Generations" ran from the command palette.
  await page.locator('.part.activitybar .action-item a[aria-label^="Explorer"]').first().click();
  await page
    .locator('.part.sidebar .composite.title', { hasText: /explorer/i })
    .first()
    .waitFor({ timeout: T });
  await sleep(1000); // let the extension host hear that the view was hidden
  const oldest = manifest.find((g) => !g.isMissing);
  nix(['nix-env', '--profile', fixture.profile, '--set', oldest.toplevel]);
  const added = newest + 1;
  await page.keyboard.press('F1');
  await quickInput.waitFor({ state: 'visible', timeout: T });
  await quickInput.fill('>' + REFRESH);
  const paletteRow = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Refresh Generations' }).first();
  const listed = await paletteRow.waitFor({ state: 'visible', timeout: T }).then(
    () => true,
    () => false,
  );
  check(`"${REFRESH}" is in the command palette`, listed && norm(await paletteRow.innerText()).includes(REFRESH));
  await shot('04-palette.png');
  await page.keyboard.press('Enter');
  await quickInput.waitFor({ state: 'hidden', timeout: T });
  await icon.click();
  const addedShown = await rowFor(added)
    .waitFor({ state: 'visible', timeout: T })
    .then(
      () => true,
      () => false,
    );
  check(
    `after the refresh the tree shows generation ${added}, added while the view was hidden`,
    addedShown,
    await rowTexts(),
  );
  await shot('05-refreshed.png');

  // 7. Nothing went wrong on the way: no error notification.
  const errors = await page
    .locator('.notifications-toasts .notification-list-item', { has: page.locator('.codicon-error') })
    .allInnerTexts();
  check('no error notification', errors.length === 0, errors.map(norm));

  // 8. What a user sees (issue 13): toolbar cleanup, home-manager compare, the compare page in three themes.
  if (!opt['no-ux']) {
    t = Date.now();
    await runUxScenarios({
      page,
      fixture,
      check,
      shot,
      log,
      rowFor,
      historyFile,
      machineSettingsFile: dirs.machineSettings,
      only: opt.only ? opt.only.split(',').map((x) => x.trim()) : [],
      hmRowFor: (n) =>
        page.locator(`.part.sidebar .monaco-list-row[aria-label^="home-manager generation ${n},"]`).first(),
      timeout: Math.min(T, 30000),
    });
    result.timings.uxScenariosMs = Date.now() - t;
  }

  // 9. Activating generations from the tree: safe switch kept, safe switch not confirmed, switch with "test".
  //    (Extension-development mode shows no notification toasts, which these scenarios answer.)
  if (!opt['no-switch'] && !opt.dev) {
    t = Date.now();
    nix(['nix-env', '--profile', fixture.profile, '--switch-generation', String(newest)]);
    nix(['nix-env', '--profile', fixture.profile, '--delete-generations', String(added)]);
    await runSwitchScenarios({
      page,
      fixture,
      nix,
      check,
      shot,
      log,
      rowFor,
      rowTexts,
      confirmSeconds: CONFIRM_SECONDS,
      stcLog,
      historyFile,
      timeout: Math.min(T, 30000),
    });
    result.timings.switchScenariosMs = Date.now() - t;
  }
  result.pageErrors = pageErrors;
  exitCode = result.checks.every((c) => c.ok) ? 0 : 1;
  if (exitCode === 0 && !opt['no-docs'] && (opt.docs || !process.env.CI)) {
    fs.mkdirSync(path.dirname(DOCS_SHOT), { recursive: true });
    fs.writeFileSync(DOCS_SHOT, docsPng);
    log(`updated ${path.relative(ROOT, DOCS_SHOT)}`);
  }
} catch (e) {
  log('harness error:', (e && e.stack) || e);
  result.error = String((e && e.stack) || e);
  try {
    const page = browser?.context.pages()[0];
    if (page) {
      await page.screenshot({ path: path.join(out, 'error.png') });
      fs.writeFileSync(path.join(out, 'error-dom.html'), await page.content());
      log(`screenshot ${path.join(out, 'error.png')}, DOM error-dom.html`);
    }
  } catch {
    // no page to show
  }
  exitCode = 2;
} finally {
  if (dirs && fs.existsSync(dirs.log)) fs.copyFileSync(dirs.log, path.join(out, 'code-server.log'));
  await cleanup();
  result.timings.totalMs = Date.now() - t0;
  fs.writeFileSync(path.join(out, 'result.json'), JSON.stringify(result, null, 2) + '\n');
  log('timings', JSON.stringify(result.timings));
  const passed = result.checks.filter((c) => c.ok).length;
  const failed = result.checks.length - passed + (exitCode === 2 ? 1 : 0);
  console.log(`${passed} passed, ${failed} failed${exitCode === 2 ? ' (harness error, see above)' : ''}`);
  process.exit(exitCode);
}

// The e2e scenarios that activate generations through the real UI, on the fixture's profile (run as root with
// nixosGenerations.elevation "none": every step runs directly, no sudo). What the fake switch-to-configuration
// recorded ($NIXOS_FIXTURE_STC_LOG: "<time> <toplevel> <action>" per call), the profile's links and the activation
// history on disk say what really happened; the UI must agree.
//
//   1. safe switch, kept: context menu "Safe Switch…" on an older generation -> the preview webview (diff, chart)
//      -> "Switch safely" (its buttons disabled) -> "Keep this configuration?" and the preview's countdown -> Keep:
//      `test` then `boot` of that system, the profile switched to that generation (no new one), the tree shows it
//      as the boot default, the preview shows the outcome.
//   2. safe switch, not answered: after the deadline the watchdog activates the previous system again (`test`),
//      the boot default is untouched, and the UI says so as information (a designed outcome, not an error).
//   3. "Switch to This Generation…" with the action "test": that system's switch-to-configuration runs with
//      `test`, the profile (boot default) stays, the activation is recorded in the history.
//   4. a superseded preview's "Switch safely" switches nothing, the one shown now does (superseded-preview.mjs).
//   5. a compare page opened during a safe switch's countdown gets nothing of that switch (superseded-preview.mjs).
//
// The fixture's switch-to-configuration records its calls and, with NIXOS_FIXTURE_RUN_DIR (set by run-e2e.mjs), moves
// run/current-system for `switch` and `test` the way a real activation does.
import fs from 'node:fs';
import path from 'node:path';
import { sleep } from '../lib/codeserver.mjs';
import { compareDuringCountdown, supersededPreview } from './superseded-preview.mjs';
import { norm, visible, workbench } from './workbench.mjs';

/** The watchdogs' state directory on this machine (the extension's default; see src/core/safeswitch/protocol.ts). */
export const SAFE_SWITCH_STATE_DIR = '/run/nixos-generations/safe-switch';

/** Calls recorded by the fixture's switch-to-configuration: [{ toplevel, action }]. */
function stcCalls(file) {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [, toplevel, action] = line.split(' ');
      return { toplevel, action };
    });
}

const linkNumber = (name) => Number(/-(\d+)-link$/.exec(name)?.[1] ?? NaN);

/** The profile's generation numbers (from its links). */
function profileGenerations(profile) {
  const base = path.basename(profile);
  return fs
    .readdirSync(path.dirname(profile))
    .map((e) => new RegExp(`^${base}-(\\d+)-link$`).exec(e))
    .filter(Boolean)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

function readHistory(file) {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return { unparsable: l };
      }
    });
}

/**
 * Removes the watchdog directories our switches left in SAFE_SWITCH_STATE_DIR (those whose events name a system
 * of this fixture), and the directory itself when nothing else is in it.
 */
export function removeWatchdogState(fixtureDir) {
  if (!fs.existsSync(SAFE_SWITCH_STATE_DIR)) return;
  for (const entry of fs.readdirSync(SAFE_SWITCH_STATE_DIR)) {
    if (entry === 'lock') continue;
    const events = path.join(SAFE_SWITCH_STATE_DIR, entry, 'events');
    try {
      if (fs.readFileSync(events, 'utf8').includes(fixtureDir + '/')) {
        fs.rmSync(path.join(SAFE_SWITCH_STATE_DIR, entry), { recursive: true, force: true });
      }
    } catch {
      // not ours, or already gone
    }
  }
  for (const dir of [SAFE_SWITCH_STATE_DIR, path.dirname(SAFE_SWITCH_STATE_DIR)]) {
    try {
      fs.rmdirSync(dir);
    } catch {
      // not empty (another run's files), or gone
    }
  }
}

/**
 * Runs the scenarios. ctx: { page, fixture, nix(argv), check(name, ok, detail), shot(file), log, rowFor(n),
 * rowTexts(), confirmSeconds, stcLog, historyFile, timeout }.
 */
export async function runSwitchScenarios(ctx) {
  const { page, fixture, nix, check, shot, log, rowFor, rowTexts, confirmSeconds, stcLog, historyFile } = ctx;
  const T = ctx.timeout ?? 30000;
  const ui = workbench(page, { timeout: T });
  const profile = fixture.profile;
  const manifest = fixture.manifest;
  const byPath = new Map(manifest.map((g) => [g.toplevel, g.n]));
  const name = (p) => (byPath.has(p) ? `generation ${byPath.get(p)}` : p);
  const describeCalls = (calls) => calls.map((c) => `${name(c.toplevel)} ${c.action}`);

  // What the fixture looks like now; put back after each scenario.
  const original = {
    link: fs.readlinkSync(profile),
    generations: profileGenerations(profile),
    activated: fs.readlinkSync(path.join(fixture.runDir, 'current-system')),
    booted: fs.readlinkSync(path.join(fixture.runDir, 'booted-system')),
  };
  const originalCurrent = linkNumber(original.link);
  const activatedN = byPath.get(fs.realpathSync(path.join(fixture.runDir, 'current-system')));
  const bootedN = byPath.get(fs.realpathSync(path.join(fixture.runDir, 'booted-system')));
  // Older generations to switch to: present, in none of the three states, no specialisation (no extra question).
  const candidates = manifest
    .filter((g) => !g.isMissing && (!g.specialisation || g.specialisation === 'null'))
    .filter((g) => ![originalCurrent, activatedN, bootedN].includes(g.n))
    .sort((a, b) => b.n - a.n);
  if (candidates.length < 3) throw new Error(`the fixture needs 3 plain older generations, has ${candidates.length}`);
  const [keptGen, otherGen, testGen] = candidates;
  // Not confirmed: a generation of the running release (another release moves PostgreSQL and Nextcloud between
  // majors, which safe switch refuses without the transitions CLI: the scenario "refused by a state transition");
  // the fixture is put back after each scenario, so the kept one may serve again.
  const activatedRelease = manifest.find((g) => g.n === activatedN)?.release;
  const revertGen = [otherGen, keptGen].find((g) => g.release === activatedRelease) ?? otherGen;
  const transitionGen = candidates.find((g) => g.release !== activatedRelease) ?? null;
  const activatedPath = fs.realpathSync(path.join(fixture.runDir, 'current-system'));
  log(
    `scenarios: boot default ${originalCurrent}, activated ${activatedN}, booted ${bootedN}; ` +
      `safe switch kept ${keptGen.n}, not confirmed ${revertGen.n}, refused ${transitionGen?.n ?? 'none'}, test ${testGen.n}`,
  );

  /** A check that leaves a screenshot behind when it fails. */
  let failures = 0;
  const expect = async (scenario, what, ok, detail) => {
    if (!check(`${scenario}: ${what}`, ok, detail)) {
      failures++;
      await shot(`fail-${scenario.replace(/[^a-z0-9]+/gi, '-')}-${failures}.png`).catch(() => undefined);
    }
    return ok;
  };
  /** A check the rest of the scenario depends on: when it fails, the scenario stops there. */
  class Stop extends Error {}
  const need = async (scenario, what, ok, detail) => {
    if (!(await expect(scenario, what, ok, detail))) throw new Stop(what);
  };

  const restore = async () => {
    const now = linkNumber(fs.readlinkSync(profile));
    if (now !== originalCurrent) nix(['nix-env', '--profile', profile, '--switch-generation', String(originalCurrent)]);
    const extra = profileGenerations(profile).filter((n) => !original.generations.includes(n));
    if (extra.length > 0) nix(['nix-env', '--profile', profile, '--delete-generations', ...extra.map(String)]);
    for (const [link, target] of [
      ['current-system', original.activated],
      ['booted-system', original.booted],
    ]) {
      const p = path.join(fixture.runDir, link);
      if (fs.readlinkSync(p) !== target) {
        fs.rmSync(p, { force: true });
        fs.symlinkSync(target, p);
      }
    }
    await ui.tidy();
    await ui.runCommand('NixOS: Refresh Generations');
    const beyond = Math.max(...original.generations) + 1;
    for (const n of [...extra, beyond]) await rowFor(n).waitFor({ state: 'hidden', timeout: T });
    await page
      .locator(
        `.part.sidebar .monaco-list-row[aria-label^="Generation ${originalCurrent},"][aria-label*="boot default"]`,
      )
      .first()
      .waitFor({ state: 'visible', timeout: T });
  };

  // start from a tidy window and a tree that shows the profile as it is now
  await restore();

  /**
   * Waits for "Keep this configuration?", or for the safe switch's own failure report (then no question comes):
   * true when the question is shown.
   */
  const askedToKeep = async () => {
    const either = ui.toast(/Keep this configuration|safe switch failed|safe switch refused/);
    return (await visible(either, T)) && (await ui.toast('Keep this configuration').isVisible());
  };

  /** Right-click the generation's row, "Safe Switch…", and wait for the preview; returns its frame. */
  const openSafeSwitch = async (g) => {
    await ui.contextMenu(rowFor(g.n), /^Safe Switch/);
    return ui.webview(`Safe switch to generation ${g.n}`);
  };

  /** Opens generation g's safe switch preview, checks it opened, and presses its "Switch safely". */
  const switchSafelyFromPreview = async (S, g) => {
    const frame = await openSafeSwitch(g);
    await need(
      S,
      'the preview webview opens',
      await visible(frame.locator('h1', { hasText: `Safe switch to generation ${g.n}` }), T),
    );
    const go = frame.locator('button#switch', { hasText: 'Switch safely' });
    await go.waitFor({ state: 'visible', timeout: T });
    await go.click();
    return frame;
  };

  const scenario = async (title, body) => {
    const t0 = Date.now();
    try {
      await body(title);
    } catch (e) {
      if (e instanceof Stop) log(`${title}: stopped after a failed check`);
      else await expect(title, 'ran to the end', false, String((e && e.message) || e));
    }
    log(`${title}: ${Date.now() - t0} ms`);
    try {
      await restore();
    } catch (e) {
      await expect(title, 'the fixture was put back afterwards', false, String((e && e.message) || e));
    }
  };

  // ---------------------------------------------------------------------------------------------------- 1. kept
  await scenario('safe switch kept', async (S) => {
    const before = stcCalls(stcLog).length;
    const frame = await openSafeSwitch(keptGen);
    const title = frame.locator('h1', { hasText: `Safe switch to generation ${keptGen.n}` });
    await need(S, 'the preview webview opens', await visible(title, T));
    const pkgRows = frame.locator('tbody tr[class^="kind-"]');
    const chartBars = frame.locator('svg[aria-label="Closure size of each generation"] rect.bar');
    const packages = await visible(pkgRows.first(), T);
    await expect(
      S,
      `the preview shows package changes from generation ${activatedN} to ${keptGen.n}`,
      packages && (await pkgRows.count()) > 0,
      packages
        ? undefined
        : norm(
            await frame
              .locator('#app')
              .innerText()
              .catch(() => ''),
          ),
    );
    const bars = await chartBars.count();
    await expect(
      S,
      'the preview shows the closure-size chart, one bar per present generation',
      bars === manifest.filter((g) => !g.isMissing).length,
      bars,
    );
    const sides = norm(await frame.locator('.sides').innerText());
    await expect(
      S,
      `the preview compares generation ${activatedN} (activated) with ${keptGen.n}`,
      sides.includes(`generation ${activatedN}`) && sides.includes(`generation ${keptGen.n}`),
      sides,
    );
    await page.mouse.move(1000, 17); // no tooltip over the tree
    await sleep(500);
    await shot('06-safe-switch-preview.png');
    await frame.locator('button#switch', { hasText: 'Switch safely' }).click();
    await expect(
      S,
      'the preview\'s buttons are disabled once "Switch safely" was pressed',
      (await frame.locator('button#switch[disabled]').count()) + (await frame.locator('button#keep').count()) > 0,
    );

    const question = ui.toast('Keep this configuration');
    const asked = await askedToKeep();
    await need(S, '"Keep this configuration?" is asked with Keep and Revert now', asked, {
      toasts: await ui.toastTexts(),
      switchToConfiguration: describeCalls(stcCalls(stcLog).slice(before)),
    });
    // the preview counts down too, with the same two answers
    const counting = frame.locator('.actions.countdown .question');
    const first = (await visible(counting, T)) ? norm(await counting.innerText()) : '';
    await sleep(2200);
    const later = (await visible(counting, 1000)) ? norm(await counting.innerText()) : '';
    const secs = (t) => Number(/in (\d+) s/.exec(t)?.[1] ?? NaN);
    await expect(
      S,
      'the preview counts down with Keep / Revert now',
      secs(later) < secs(first) && (await frame.locator('button#keep').count()) === 1,
      { first, later },
    );
    const status = page.locator('.part.statusbar .statusbar-item', { hasText: /Keep\? \d+ s/ }).first();
    await expect(S, 'the status bar counts down ("Keep? N s")', await visible(status, 5000));
    await sleep(600); // the toasts' fade-in
    await shot('07-safe-switch-countdown.png');
    // The countdown notification never hides until answered (a question with buttons is tucked away after a few
    // seconds): after waiting as long as the window allows, it is still there, counting, and its Keep link answers.
    const sticky = ui.toast(/Keep the new configuration on/);
    const firstText = (await visible(sticky, 5000)) ? norm(await sticky.innerText()) : '';
    await sleep(Math.max(0, Math.min(15, confirmSeconds - 6)) * 1000);
    const stillThere = await visible(sticky, 1000);
    const laterText = stillThere ? norm(await sticky.innerText()) : '';
    const keepLink = sticky.locator('a', { hasText: /^Keep$/ }).first();
    await expect(
      S,
      `the countdown notification is still shown after ${Math.min(15, confirmSeconds - 6)} s, counting down, with a Keep link`,
      stillThere && secs(laterText) < secs(firstText) && (await keepLink.count()) === 1,
      { firstText, laterText, toasts: await ui.toastTexts() },
    );
    await shot('07b-safe-switch-countdown-later.png');
    if ((await keepLink.count()) === 1) await keepLink.click();
    else
      await question
        .locator('.monaco-button', { hasText: /^Keep$/ })
        .first()
        .click();

    const kept = ui.toast('is kept and is the boot default');
    await expect(S, 'the UI reports the new configuration kept and the boot default', await visible(kept, T), {
      toasts: await ui.toastTexts(),
    });
    const calls = stcCalls(stcLog)
      .slice(before)
      .filter((c) => c.action !== 'dry-activate');
    await expect(
      S,
      `switch-to-configuration ran "test" then "boot" of generation ${keptGen.n}, nothing else`,
      JSON.stringify(calls) ===
        JSON.stringify([
          { toplevel: keptGen.toplevel, action: 'test' },
          { toplevel: keptGen.toplevel, action: 'boot' },
        ]),
      describeCalls(calls),
    );
    const link = fs.readlinkSync(profile);
    await expect(
      S,
      `the profile is switched to generation ${keptGen.n} itself (no new generation, as Switch to This Generation)`,
      linkNumber(link) === keptGen.n &&
        JSON.stringify(profileGenerations(profile)) === JSON.stringify(original.generations),
      { link, generations: profileGenerations(profile) },
    );
    const row = page
      .locator(`.part.sidebar .monaco-list-row[aria-label^="Generation ${keptGen.n},"][aria-label*="boot default"]`)
      .first();
    await expect(S, `the tree shows generation ${keptGen.n} as the boot default`, await visible(row, T), {
      rows: await rowTexts(),
    });
    // the preview: its buttons were disabled once used, and it says how it ended
    const outcome = frame.locator('.actions.outcome.kept');
    await expect(
      S,
      'the preview shows the outcome ("kept"), its buttons gone',
      (await visible(outcome, T)) && (await frame.locator('.actions button').count()) === 0,
      norm(
        await frame
          .locator('#actions')
          .innerText()
          .catch(() => ''),
      ),
    );
    // recorded once the result was reported
    const performed = () => readHistory(historyFile).filter((r) => r.source === 'performed');
    for (let i = 0; i < 50 && performed().length === 0; i++) await sleep(100);
    const records = performed();
    await expect(
      S,
      `the activation history records generation ${keptGen.n} (safe switch)`,
      records.length === 1 &&
        records[0].generation === keptGen.n &&
        records[0].action === 'safe switch' &&
        records[0].storePath === keptGen.toplevel,
      records,
    );
    await sleep(600);
    await shot('08-safe-switch-kept.png');
  });

  // --------------------------------------------------------------------------------------------- 2. not confirmed
  await scenario('safe switch not confirmed', async (S) => {
    const before = stcCalls(stcLog).length;
    const frame = await switchSafelyFromPreview(S, revertGen);
    await need(S, '"Keep this configuration?" is asked', await askedToKeep(), {
      toasts: await ui.toastTexts(),
      switchToConfiguration: describeCalls(stcCalls(stcLog).slice(before)),
    });
    // no answer: the watchdog reverts at the deadline
    const reverted = ui.toast(/is back on the previous configuration/i);
    const reported = await visible(reverted, confirmSeconds * 1000 + 45000);
    const text = reported ? norm(await reverted.innerText()) : '';
    await expect(
      S,
      `after ${confirmSeconds} s without an answer the UI says it reverted, as information (not a red error)`,
      reported &&
        text.includes(`not confirmed within ${confirmSeconds} s`) &&
        (await reverted.locator('.codicon-error').count()) === 0 &&
        (await reverted.locator('.codicon-info').count()) > 0 &&
        (await ui.toast(/safe switch failed/i).count()) === 0,
      { toast: text, toasts: await ui.toastTexts() },
    );
    const said = frame.locator('.actions.outcome.reverted');
    await expect(
      S,
      'the preview shows the outcome ("back on the previous configuration")',
      (await visible(said, T)) && /back on the previous configuration/.test(norm(await said.innerText())),
    );
    const calls = stcCalls(stcLog)
      .slice(before)
      .filter((c) => c.action !== 'dry-activate');
    await expect(
      S,
      `switch-to-configuration ran "test" of generation ${revertGen.n}, then "test" of the previous system (generation ${activatedN})`,
      JSON.stringify(calls) ===
        JSON.stringify([
          { toplevel: revertGen.toplevel, action: 'test' },
          { toplevel: activatedPath, action: 'test' },
        ]),
      describeCalls(calls),
    );
    await expect(
      S,
      `the boot default is still generation ${originalCurrent}, no generation was added`,
      fs.readlinkSync(profile) === original.link &&
        JSON.stringify(profileGenerations(profile)) === JSON.stringify(original.generations),
      { link: fs.readlinkSync(profile), generations: profileGenerations(profile) },
    );
    const label = norm(await rowFor(originalCurrent).getAttribute('aria-label'));
    await expect(
      S,
      `the tree still shows generation ${originalCurrent} as the boot default`,
      /boot default/.test(label),
      label,
    );
    await sleep(600);
    await shot('09-safe-switch-reverted.png');
  });

  // --------------------------------------------------------------------- 2b. refused by a state transition
  await scenario('safe switch refused by a state transition', async (S) => {
    await need(S, 'the fixture has a generation of another release', transitionGen !== null);
    const before = stcCalls(stcLog).length;
    const frame = await switchSafelyFromPreview(S, transitionGen);
    const said = frame.locator('.actions.outcome.cancelled');
    const text = (await visible(said, T)) ? norm(await said.innerText()) : '';
    await expect(
      S,
      'the preview says why nothing was switched: the PostgreSQL migration cannot run without the transitions command',
      /^Not switched:/.test(text) &&
        /PostgreSQL \d+ → \d+ cannot be migrated/.test(text) &&
        /nixosGenerations\.transitions\.command/.test(text),
      text,
    );
    const calls = stcCalls(stcLog)
      .slice(before)
      .filter((c) => c.action !== 'dry-activate');
    await expect(S, 'switch-to-configuration was not run', calls.length === 0, describeCalls(calls));
    await expect(
      S,
      `the boot default is still generation ${originalCurrent}`,
      fs.readlinkSync(profile) === original.link,
      fs.readlinkSync(profile),
    );
    await sleep(600);
    await shot('09b-safe-switch-refused.png');
  });

  // ------------------------------------------------------------------------------------ 3. switch with "test"
  await scenario('switch to generation (test)', async (S) => {
    const before = stcCalls(stcLog).length;
    const historyBefore = readHistory(historyFile).length;
    await ui.contextMenu(rowFor(testGen.n), /^Switch to This Generation/);
    await ui.quickPick(`Generation ${testGen.n}`, 'test');
    const asked = await ui.answerDialog(`Activate generation ${testGen.n} of system until the next boot?`, 'Activate');
    await expect(
      S,
      'the confirmation says the boot default stays',
      /the boot default stays as it is/.test(asked),
      asked,
    );
    // the outcome's toast: "… finished.", or "… failed (exit code N); see the terminal." / "… was stopped"
    const outcome = ui.toast(new RegExp(`switching to generation ${testGen.n} (finished|failed|was stopped)`));
    const told = (await visible(outcome, T)) ? norm(await outcome.innerText()) : '';
    await expect(S, 'the UI reports the switch finished', told.includes('finished'), {
      toast: told,
      toasts: await ui.toastTexts(),
    });
    await sleep(600);
    await shot('10-switch-test.png');
    const calls = stcCalls(stcLog).slice(before);
    await expect(
      S,
      `switch-to-configuration ran "test" of generation ${testGen.n}, nothing else`,
      JSON.stringify(calls) === JSON.stringify([{ toplevel: testGen.toplevel, action: 'test' }]),
      describeCalls(calls),
    );
    await expect(
      S,
      `the boot default is still generation ${originalCurrent}`,
      fs.readlinkSync(profile) === original.link,
      fs.readlinkSync(profile),
    );
    // (the first deploy command also notes the activation it finds, as "observed")
    const records = readHistory(historyFile)
      .slice(historyBefore)
      .filter((r) => r.source === 'performed');
    await expect(
      S,
      `the activation history records generation ${testGen.n} activated with "test"`,
      records.length === 1 && records[0].generation === testGen.n && records[0].action === 'test',
      records,
    );
    // Activation moved run/current-system (the fixture's switch-to-configuration does, as on NixOS): the tree and
    // the status bar follow (the view watches the run directory), and no longer call generation ${activatedN} activated.
    const movedTo = fs.realpathSync(path.join(fixture.runDir, 'current-system'));
    await expect(
      S,
      `run/current-system points at generation ${testGen.n}`,
      movedTo === testGen.toplevel,
      name(movedTo),
    );
    const activatedRow = page
      .locator(`.part.sidebar .monaco-list-row[aria-label^="Generation ${testGen.n},"][aria-label*="activated"]`)
      .first();
    const shown = await visible(activatedRow, T);
    const oldLabel = norm(await rowFor(activatedN).getAttribute('aria-label'));
    await expect(
      S,
      `the tree shows generation ${testGen.n} activated, ${activatedN} no longer`,
      shown && !/\bactivated\b/.test(oldLabel),
      oldLabel,
    );
    const status = page.locator('.part.statusbar .statusbar-item', { hasText: new RegExp(`NixOS ${testGen.n}\\b`) });
    await expect(S, `the status bar shows NixOS ${testGen.n}`, await visible(status.first(), T));
  });

  // ------------------------------------------------------------------- 4. the answer of a superseded preview
  // The replaced preview is of a generation of the running release (a preview across releases also plans the state
  // transitions, which this scenario is not about); the control switches to keptGen.
  const release = (g) => /^\d+\.\d+/.exec(g.version)?.[0];
  const sameRelease = manifest.find(
    (g) =>
      !g.isMissing &&
      (!g.specialisation || g.specialisation === 'null') &&
      ![activatedN, keptGen.n].includes(g.n) &&
      release(g) === release(keptGen),
  );
  await scenario('superseded preview', (S) =>
    supersededPreview(S, {
      page,
      ui,
      expect,
      need,
      openSafeSwitch,
      askedToKeep,
      stcCalls: () => stcCalls(stcLog),
      describeCalls,
      rowFor,
      shot,
      profile,
      runDir: fixture.runDir,
      originalLink: original.link,
      activatedN,
      first: sameRelease ?? revertGen,
      second: keptGen,
      T,
    }),
  );

  // ------------------------------------------------------------ 5. a compare page opened during the countdown
  await scenario('compare during countdown', (S) =>
    compareDuringCountdown(S, {
      page,
      ui,
      expect,
      need,
      openSafeSwitch,
      askedToKeep,
      stcCalls: () => stcCalls(stcLog),
      describeCalls,
      rowFor,
      activatedPath,
      confirmSeconds,
      first: sameRelease ?? revertGen,
      second: keptGen,
      T,
    }),
  );
  return failures;
}

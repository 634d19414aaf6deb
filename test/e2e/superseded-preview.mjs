// e2e scenario (issue 9): a safe switch preview's "Switch safely" answer counts only for the preview it answers.
// The preview panel is reused: a second safe switch replaces the first preview in it. The first preview's button,
// kept as a handle while it was shown, is pressed after the second preview replaced it (its click handler still
// posts the first preview's id from the webview, as a late click or a stale webview would). Checks: nothing is
// switched (the fixture's switch-to-configuration records no call, the boot default, run/current-system, the tree
// and the status bar are unchanged), the user is told that answer decided nothing, and the second preview keeps
// its buttons (the superseded safe switch writes nothing into it). Control: the second preview's own "Switch
// safely" does switch ("test", then "boot" after Keep).
//
// Run by switch-scenarios.mjs (it needs the notification toasts, so not in --dev mode); `t` is its toolkit.
import fs from 'node:fs';
import path from 'node:path';
import { sleep } from '../lib/codeserver.mjs';
import { norm, visible } from './workbench.mjs';

/** The words of src/extension/preview/messages.ts STALE_DECISION_MESSAGE that matter to the user. */
const STALE_TOAST = /answer was for a preview another one has replaced, so nothing was switched/;

/**
 * t: { page, ui, expect, need, openSafeSwitch, askedToKeep, stcCalls, describeCalls, rowFor, rowTexts, profile,
 * runDir, originalLink, activatedN, first, second, T }: `first` and `second` are two plain older generations.
 */
export async function supersededPreview(S, t) {
  const { page, ui, expect, need, first, second, T } = t;
  const before = t.stcCalls().length;
  const activatedBefore = fs.readlinkSync(path.join(t.runDir, 'current-system'));
  const switched = () =>
    t
      .stcCalls()
      .slice(before)
      .filter((c) => c.action !== 'dry-activate');

  // the first preview, and a handle to its "Switch safely" button
  const frame1 = await t.openSafeSwitch(first);
  await need(
    S,
    `the preview of generation ${first.n} opens`,
    await visible(frame1.locator('h1', { hasText: `Safe switch to generation ${first.n}` }), T),
  );
  const firstButton = frame1.locator('button#switch', { hasText: 'Switch safely' });
  await need(S, `the preview of generation ${first.n} offers "Switch safely"`, await visible(firstButton, T));
  const staleButton = await firstButton.elementHandle();

  // the second preview replaces the first in the same panel
  const frame2 = await t.openSafeSwitch(second);
  await need(
    S,
    `the preview of generation ${second.n} replaces the one of generation ${first.n}`,
    await visible(frame2.locator('h1', { hasText: `Safe switch to generation ${second.n}` }), T),
    norm(
      await frame2
        .locator('#app')
        .innerText()
        .catch(() => ''),
    ),
  );
  await need(
    S,
    `the button kept from the preview of generation ${first.n} is no longer on the page`,
    (await staleButton.evaluate((b) => b.isConnected)) === false,
  );

  // the superseded preview answers "switch"
  await staleButton.evaluate((b) => b.click());
  const told = ui.toast(STALE_TOAST);
  const toldShown = await visible(told, T);
  await expect(
    S,
    `answering the superseded preview of generation ${first.n} tells the user it decided nothing, as a warning`,
    toldShown && (await told.locator('.codicon-warning').count()) > 0,
    { toasts: await ui.toastTexts() },
  );
  await expect(
    S,
    'the superseded answer switched nothing (switch-to-configuration recorded no call, nothing asks "Keep?")',
    switched().length === 0 && (await ui.toast('Keep this configuration').count()) === 0,
    { calls: t.describeCalls(switched()), toasts: await ui.toastTexts() },
  );
  await expect(
    S,
    'the boot default and the activated system are unchanged',
    fs.readlinkSync(t.profile) === t.originalLink &&
      fs.readlinkSync(path.join(t.runDir, 'current-system')) === activatedBefore,
    { link: fs.readlinkSync(t.profile), activated: fs.readlinkSync(path.join(t.runDir, 'current-system')) },
  );
  const activatedLabel = norm(await t.rowFor(t.activatedN).getAttribute('aria-label'));
  const status = page.locator('.part.statusbar .statusbar-item', { hasText: new RegExp(`NixOS ${t.activatedN}\\b`) });
  await expect(
    S,
    `the tree and the status bar still show generation ${t.activatedN} activated`,
    /\bactivated\b/.test(activatedLabel) && (await visible(status.first(), T)),
    activatedLabel,
  );
  // the first safe switch stopped without writing its "Cancelled" into the preview shown now
  const go = frame2.locator('button#switch:not([disabled])', { hasText: 'Switch safely' });
  await expect(
    S,
    `the preview of generation ${second.n} still offers "Switch safely", no outcome written into it`,
    (await visible(go, T)) && (await frame2.locator('.actions.outcome').count()) === 0,
    norm(
      await frame2
        .locator('#actions')
        .innerText()
        .catch(() => ''),
    ),
  );
  await sleep(600); // the toast's fade-in
  await t.shot('11-superseded-preview.png');

  // control: the preview shown now does switch
  await go.click();
  const question = ui.toast('Keep this configuration');
  await need(S, `the current preview's "Switch safely" asks "Keep this configuration?"`, await t.askedToKeep(), {
    toasts: await ui.toastTexts(),
    calls: t.describeCalls(switched()),
  });
  await question
    .locator('.monaco-button', { hasText: /^Keep$/ })
    .first()
    .click();
  await expect(
    S,
    `generation ${second.n} is kept and is the boot default`,
    await visible(ui.toast('is kept and is the boot default'), T),
    { toasts: await ui.toastTexts() },
  );
  await expect(
    S,
    `switch-to-configuration ran "test" then "boot" of generation ${second.n} only (nothing of ${first.n})`,
    JSON.stringify(switched()) ===
      JSON.stringify([
        { toplevel: second.toplevel, action: 'test' },
        { toplevel: second.toplevel, action: 'boot' },
      ]),
    t.describeCalls(switched()),
  );
  // focus back on the workbench (it was in the preview's frame): the palette the clean-up uses takes F1 from there
  await page.locator('.part.sidebar .composite.title').first().click();
  await sleep(300);
}

/**
 * A compare page opened while a safe switch counts down replaces that switch's preview in the panel: the switch's
 * outcome (here a revert, no answer given) is told in a notification and written nowhere into the compare page.
 * t: as for supersededPreview, plus `activatedPath` and `confirmSeconds`; `second` is switched to, `first` compared.
 */
export async function compareDuringCountdown(S, t) {
  const { ui, expect, need, first, second, T } = t;
  const before = t.stcCalls().length;
  const frame = await t.openSafeSwitch(second);
  const go = frame.locator('button#switch', { hasText: 'Switch safely' });
  await need(S, `the preview of generation ${second.n} offers "Switch safely"`, await visible(go, T));
  await go.click();
  await need(S, '"Keep this configuration?" is asked', await t.askedToKeep(), { toasts: await ui.toastTexts() });

  // while it counts down, a compare page takes the panel
  await ui.contextMenu(t.rowFor(first.n), /^Compare Generations/);
  const compare = await ui.webview(/system: generations \d+ → \d+/);
  await need(
    S,
    'the compare page replaces the safe switch preview',
    await visible(compare.locator('td.kind').first(), T),
  );

  // no answer: the watchdog reverts at the deadline
  const reverted = ui.toast(/is back on the previous configuration/i);
  await need(S, 'the revert is told in a notification', await visible(reverted, t.confirmSeconds * 1000 + 45000), {
    toasts: await ui.toastTexts(),
  });
  await sleep(1000); // the outcome would have been posted with the notification
  const page = norm(await compare.locator('#app').innerText());
  await expect(
    S,
    'the compare page shows no countdown, buttons or outcome of the safe switch',
    (await compare.locator('#actions, .actions').count()) === 0 &&
      !/back on the previous configuration|Keep|Revert now/.test(page) &&
      (await compare.locator('td.kind').count()) > 0,
    page.slice(0, 300),
  );
  const calls = t
    .stcCalls()
    .slice(before)
    .filter((c) => c.action !== 'dry-activate');
  await expect(
    S,
    `switch-to-configuration ran "test" of generation ${second.n}, then "test" of the previous system`,
    JSON.stringify(calls) ===
      JSON.stringify([
        { toplevel: second.toplevel, action: 'test' },
        { toplevel: t.activatedPath, action: 'test' },
      ]),
    t.describeCalls(calls),
  );
  await t.page.locator('.part.sidebar .composite.title').first().click();
  await sleep(300);
}

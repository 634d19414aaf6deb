// Small Playwright helpers for the VS Code web workbench (code-server) used by the e2e scenarios: context menus,
// quick picks, modal dialogs, notification toasts, the command palette and webviews. Each helper waits for what it
// needs and throws an Error that says which part of the UI did not show up.
import { sleep } from '../lib/codeserver.mjs';

export const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();

/** True once `locator` is visible within `timeout` ms, false otherwise (no throw). */
export async function visible(locator, timeout) {
  return locator.waitFor({ state: 'visible', timeout }).then(
    () => true,
    () => false,
  );
}

export function workbench(page, { timeout = 30000 } = {}) {
  const quickInput = page.locator('.quick-input-widget input').first();
  const toasts = page.locator('.notifications-toasts .notification-list-item');

  const must = async (locator, what, ms = timeout) => {
    if (!(await visible(locator, ms))) throw new Error(`${what} did not appear within ${ms} ms`);
    return locator;
  };

  return {
    quickInput,

    /** Right-clicks `row` and chooses the context menu entry whose label matches `name` (string or RegExp). */
    async contextMenu(row, name) {
      const item = page.getByRole('menuitem', { name }).first();
      // A menu opened while the tree re-renders (a refresh) can close again at once: try again a few times.
      for (let attempt = 1; ; attempt++) {
        await row.click({ button: 'right' });
        if (await visible(item, 3000)) break;
        if (attempt === 3) await must(item, `context menu entry ${name} (after ${attempt} right-clicks)`, 1);
        await page.keyboard.press('Escape');
        await page.mouse.move(1000, 17);
        await sleep(300);
      }
      await item.click();
      // A click that arrives while the menu is still settling can be dropped by the menu (it stays open with the
      // entry highlighted); the keyboard then runs the highlighted entry.
      if (
        !(await item.waitFor({ state: 'hidden', timeout: 1000 }).then(
          () => true,
          () => false,
        ))
      ) {
        await item.hover();
        await page.keyboard.press('Enter');
        await item.waitFor({ state: 'hidden', timeout });
      }
    },

    /** Waits for a quick pick titled like `title`, filters it with `text` and accepts the first match. */
    async quickPick(title, text) {
      await must(
        page.locator('.quick-input-widget .quick-input-title', { hasText: title }).first(),
        `quick pick "${title}"`,
      );
      await quickInput.fill(text);
      const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: text }).first();
      await must(row, `quick pick entry "${text}"`);
      await page.keyboard.press('Enter');
    },

    /** A modal dialog (showWarningMessage with modal: true) whose text matches `message`. */
    dialog(message) {
      return page.locator('.monaco-dialog-box', { hasText: message }).first();
    },

    /** Clicks `button` in the modal dialog that shows `message`; resolves with the dialog's text. */
    async answerDialog(message, button) {
      const box = await must(this.dialog(message), `dialog "${message}"`);
      const text = norm(await box.innerText());
      await box.locator('.dialog-buttons .monaco-button', { hasText: button }).first().click();
      await box.waitFor({ state: 'hidden', timeout });
      return text;
    },

    /** The notification toast whose message matches `text` (string or RegExp). */
    toast(text) {
      return toasts.filter({ hasText: text }).first();
    },

    /** The texts of the notification toasts shown now. */
    async toastTexts() {
      return (await toasts.allInnerTexts()).map(norm);
    },

    /** Waits for the toast, clicks its `button`. */
    async answerToast(text, button, ms = timeout) {
      const item = await must(this.toast(text), `notification "${text}"`, ms);
      await item.locator('.monaco-button', { hasText: button }).first().click();
    },

    /** Runs a command by its palette label (F1, '>label', Enter on the matching entry). */
    async runCommand(label) {
      await page.keyboard.press('F1');
      await must(quickInput, 'the command palette');
      await quickInput.fill('>' + label);
      await must(
        page.locator('.quick-input-widget .monaco-list-row', { hasText: label }).first(),
        `command "${label}" in the palette`,
      );
      await page.keyboard.press('Enter');
      await quickInput.waitFor({ state: 'hidden', timeout });
    },

    /**
     * The content frame of the webview panel titled `title`: VS Code puts a webview in an iframe (the host page)
     * that holds another iframe (#active-frame) with the extension's HTML.
     */
    async webview(title) {
      await must(page.locator('.tabs-container .tab', { hasText: title }).first(), `editor tab "${title}"`);
      const host = page.locator('iframe.webview.ready').last();
      await must(host, 'the webview iframe');
      return page.frameLocator('iframe.webview.ready').last().frameLocator('#active-frame');
    },

    /** Clears every notification and closes every editor (between scenarios). */
    async tidy() {
      await page.keyboard.press('Escape');
      await this.runCommand('Notifications: Clear All Notifications');
      await this.runCommand('View: Close All Editors');
      await sleep(300);
    },
  };
}

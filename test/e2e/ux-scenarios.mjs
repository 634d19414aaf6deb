// The e2e scenarios for what a user sees (issue 13): each one drives the real UI and checks what it shows, with
// screenshots in a light and a dark theme (and high contrast where colours matter) kept in the output directory.
//
//   toolbar cleanup   a row right-clicked earlier and another row selected; the view's toolbar "Delete Old
//                     Generations…" must still ask which generations go (keep N / older than / choose), and never
//                     go straight to "Delete 1 generation…" of a row.
//   home-manager      the row context menu "Compare Generations…" on a home-manager generation: the page names the
//                     profile, compares with its current generation, charts home-manager's closures (not the
//                     system's), shows no kernel card; the rows say "current", never "boot default".
//   compare page      package kinds readable (theme foreground, contrast >= 4.5) in light, dark and high contrast;
//                     no wrapped names or sizes; a legend under the chart; no ∅ / ε / "?" placeholders.
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
 * ctx: { page, fixture, check, shot, log, rowFor, hmRowFor, timeout }. Every scenario catches its own
 * failure (a failed check with the reason) so the next one still runs.
 */
export async function runUxScenarios(ctx) {
  const { page, fixture, check, shot, log, rowFor, hmRowFor } = ctx;
  const T = ctx.timeout ?? 30000;
  const ui = workbench(page, { timeout: T });
  const manifest = fixture.manifest;
  const hmManifest = fixture.hmManifest ?? [];

  const scenario = async (title, body) => {
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
      await shot(`ux-compare-${theme}.png`);
      await ui.runCommand('View: Close All Editors');
    }
    await setTheme(page, 'dark');
  });
}

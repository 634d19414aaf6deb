/**
 * The preview webview's script (media/preview.js) in real headless Chromium, outside VS Code: a `show` message with
 * changes that cut you off draws them first, above the risky changes and the packages, each as words.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import type { GenerationDiff } from '../../src/core/diff';
import { PROJECT_ROOT } from '../lib/machines';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const side = (storePath: string): GenerationDiff['from'] => ({
  storePath,
  generation: null,
  label: null,
  nixosVersion: null,
  kernelVersion: null,
  kernel: null,
  initrd: null,
  kernelModules: null,
  stateVersion: null,
  host: 'root@web1',
});

describe('preview webview: changes that cut you off come first', function () {
  this.timeout(120_000);
  let browser: Browser;
  let dir = '';
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-webview-'));
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('draws the reach findings above the risky changes', async () => {
    const diff: GenerationDiff = {
      from: side('/nix/store/aaaa-nixos-system-web1-24.11'),
      to: side('/nix/store/bbbb-nixos-system-web1-24.11'),
      closure: {
        packages: [],
        counts: { added: 0, removed: 0, upgraded: 0, downgraded: 0, changed: 0 },
        sizeBefore: 1,
        sizeAfter: 1,
        sizeDelta: 0,
        pathsBefore: 1,
        pathsAfter: 1,
        pathsAdded: 0,
        pathsRemoved: 0,
      } as unknown as GenerationDiff['closure'],
      kernel: { before: null, after: null, changed: false, rebootNeeded: false },
      stateVersion: { before: null, after: null, changed: false },
      reach: [
        { subject: 'sshd', cutsOff: true, message: 'sshd moves from port 22 to 2222' },
        { subject: 'hosts', cutsOff: false, message: '/etc/hosts names db as 10.0.0.8' },
      ],
      risks: [{ severity: 'warning', message: 'stateVersion changes' } as unknown as GenerationDiff['risks'][number]],
      units: null,
      warnings: [],
    };
    const html = path.join(dir, 'preview.html');
    fs.writeFileSync(
      html,
      '<!doctype html><html><body><div id="app"></div><script>' +
        'window.acquireVsCodeApi = () => ({ postMessage: () => undefined });</script>' +
        `<script src="file://${path.join(PROJECT_ROOT, 'media', 'preview.js')}"></script></body></html>`,
    );
    const page = await browser.newPage();
    await page.goto(`file://${html}`);
    await page.evaluate(
      (d) => {
        (globalThis as unknown as { postMessage(m: unknown, o: string): void }).postMessage(
          {
            type: 'show',
            mode: 'diff',
            title: 'T',
            note: '',
            diff: d,
            sizes: [],
            profileKind: 'system',
            showId: 'x'.repeat(16),
          },
          '*',
        );
      },
      diff as unknown as Record<string, unknown>,
    );
    await page.waitForSelector('section.reach');
    const headings = await page.$$eval('h2', (hs) => hs.map((h) => h.textContent));
    assert.equal(headings[0], 'Changes that may cut you off (2)');
    assert.equal(headings[1], 'Risky changes (1)');
    const items = await page.$$eval('section.reach li', (lis) => lis.map((li) => [li.className, li.textContent]));
    assert.deepEqual(items, [
      ['risk error', 'cut off sshd moves from port 22 to 2222'],
      ['risk information', 'hosts /etc/hosts names db as 10.0.0.8'],
    ]);
  });
});

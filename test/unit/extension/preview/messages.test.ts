import assert from 'node:assert/strict';
import type { GenerationDiff } from '../../../../src/core/diff';
import { formatBytes } from '../../../../src/core/format';
import {
  byteTexts,
  decisionFor,
  parseFromWebview,
  type PreviewContent,
} from '../../../../src/extension/preview/messages';

describe('preview webview messages', () => {
  it('accepts only the messages the webview may send', () => {
    assert.deepEqual(parseFromWebview({ type: 'ready' }), { type: 'ready' });
    const showId = 'AbCd0123_-xyz';
    assert.deepEqual(parseFromWebview({ type: 'decide', decision: 'switch', showId }), {
      type: 'decide',
      decision: 'switch',
      showId,
    });
    assert.deepEqual(parseFromWebview({ type: 'decide', decision: 'cancel', showId, extra: 1 }), {
      type: 'decide',
      decision: 'cancel',
      showId,
    });
    for (const bad of [
      null,
      undefined,
      'ready',
      42,
      [],
      { type: 'ready', command: 'rm -rf /' },
      { type: 'decide', decision: 'keep' },
      { type: 'decide' },
      { type: 'decide', decision: 'switch' },
      { type: 'decide', decision: 'switch', showId: 'short' },
      { type: 'decide', decision: 'switch', showId: '../../x; rm -rf' },
      { type: 'run', argv: ['sh'] },
    ]) {
      assert.equal(parseFromWebview(bad), null, JSON.stringify(bad));
    }
  });

  it("binds a decision to the preview it answers: an older preview's switch decides nothing", () => {
    const first = parseFromWebview({ type: 'decide', decision: 'switch', showId: 'first-preview-1' })!;
    assert.equal(decisionFor(first, 'first-preview-1'), 'switch');
    assert.equal(decisionFor(first, 'second-preview-2'), null, 'a stale answer to the first preview');
    assert.equal(decisionFor(first, undefined), null, 'nothing shown');
    assert.equal(decisionFor({ type: 'ready' }, 'first-preview-1'), null);
  });

  it('formats every byte count of the page with the one rounding function: summary and row cannot disagree', () => {
    // -8857 bytes is 8.649… KiB: one function gives "8.6 KiB" wherever it shows
    const diff = {
      closure: {
        sizeBefore: 1_000_000,
        sizeAfter: 1_000_000 - 8857,
        sizeDelta: -8857,
        packages: [{ sizeDelta: -8857 }, { sizeDelta: 2048 }],
      },
    } as unknown as GenerationDiff;
    const content = {
      type: 'show',
      mode: 'diff',
      title: 't',
      note: '',
      profileKind: 'system',
      diff,
      sizes: [{ generation: 3, size: 5 * 1024 ** 3, compared: true, activated: false }],
    } as PreviewContent;
    const texts = byteTexts(content);
    assert.equal(texts['8857'], '8.6 KiB');
    assert.equal(texts['8857'], formatBytes(8857));
    assert.equal(texts['2048'], '2.0 KiB');
    assert.equal(texts[String(5 * 1024 ** 3)], '5.0 GiB');
    assert.equal(texts['1000000'], formatBytes(1_000_000));
    assert.equal(Object.keys(texts).length, 5, "keyed by magnitude: the sign is the page's");
  });
});

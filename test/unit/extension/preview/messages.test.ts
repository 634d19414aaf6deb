import assert from 'node:assert/strict';
import { decisionFor, parseFromWebview } from '../../../../src/extension/preview/messages';

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
});

import assert from 'node:assert/strict';
import { parseFromWebview } from '../../../../src/extension/preview/messages';

describe('preview webview messages', () => {
  it('accepts only the messages the webview may send', () => {
    assert.deepEqual(parseFromWebview({ type: 'ready' }), { type: 'ready' });
    assert.deepEqual(parseFromWebview({ type: 'decide', decision: 'switch' }), { type: 'decide', decision: 'switch' });
    assert.deepEqual(parseFromWebview({ type: 'decide', decision: 'cancel', extra: 1 }), {
      type: 'decide',
      decision: 'cancel',
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
      { type: 'run', argv: ['sh'] },
    ]) {
      assert.equal(parseFromWebview(bad), null, JSON.stringify(bad));
    }
  });
});

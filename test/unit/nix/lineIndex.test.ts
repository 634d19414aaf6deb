import assert from 'node:assert/strict';
import { LineIndex } from '../../../src/core/nix';

describe('LineIndex', () => {
  it('maps offsets and positions both ways over LF, CRLF and CR', () => {
    const text = 'ab\ncd\r\nef\rg';
    const index = new LineIndex(text);
    assert.equal(index.lineCount, 4);
    const expected: [number, number, number][] = [
      [0, 0, 0],
      [2, 0, 2],
      [3, 1, 0],
      [5, 1, 2],
      [7, 2, 0],
      [10, 3, 0],
      [11, 3, 1],
    ];
    for (const [offset, line, character] of expected) {
      assert.deepEqual(index.positionAt(offset), { line, character }, `offset ${offset}`);
      assert.equal(index.offsetAt({ line, character }), offset);
    }
    assert.equal(index.lineEnd(1), 5);
  });

  it('counts UTF-16 code units and clamps out-of-range input', () => {
    const text = 'x = "😀";\ny';
    const index = new LineIndex(text);
    assert.deepEqual(index.positionAt(text.indexOf(';')), { line: 0, character: 8 });
    assert.deepEqual(index.positionAt(-5), { line: 0, character: 0 });
    assert.deepEqual(index.positionAt(1000), { line: 1, character: 1 });
    assert.equal(index.offsetAt({ line: 0, character: 1000 }), 9);
    assert.equal(index.offsetAt({ line: 9, character: 0 }), text.length);
    assert.deepEqual(new LineIndex('').positionAt(0), { line: 0, character: 0 });
  });
});

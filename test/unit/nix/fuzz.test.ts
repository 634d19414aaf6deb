import assert from 'node:assert/strict';
import { checkScope, collectBindings, constantValue, findAttrBindings, parse, walkNodes } from '../../../src/core/nix';
import { random } from '../../conformance/compare';
import { checkTree, conformanceCases } from './helpers';

const ALPHABET = 'abcxyz019_\'-.+/~<>=!&|?:;,@*{}[]()"$\\#\n\t \r%^`λ😀';
const TOKENS = [
  'a',
  'b',
  'or',
  'if',
  'then',
  'else',
  'let',
  'in',
  'rec',
  'with',
  'assert',
  'inherit',
  '1',
  '2.5',
  '"s"',
  '"',
  "''",
  "''x''",
  '${',
  '}',
  '{',
  '[',
  ']',
  '(',
  ')',
  ';',
  ':',
  ',',
  '.',
  '...',
  '=',
  '==',
  '!=',
  '<',
  '>',
  '<=',
  '>=',
  '&&',
  '||',
  '->',
  '//',
  '++',
  '+',
  '-',
  '*',
  '/',
  '!',
  '?',
  '@',
  '|>',
  '<|',
  './p',
  './p/${',
  '~/q',
  '<n>',
  'http://u',
  '# c\n',
  '/* c */',
  '/*',
  'x:',
  '{ a, b ? 1, ... }:',
  'a.b.c',
  'lib.mkDefault',
  'system.stateVersion',
];

/** Parses and checks everything the tree promises; any exception fails the test with the input shown. */
function exercise(text: string): void {
  try {
    const { root, errors } = parse(text);
    checkTree(text, root);
    let last = -1;
    for (const e of errors) {
      assert.ok(e.start >= 0 && e.start <= e.end && e.end <= text.length, 'error range');
      assert.ok(e.start > last, 'errors sorted, one per offset');
      assert.ok(e.message.length > 0);
      last = e.start;
    }
    checkScope(root);
    collectBindings(root, { anywhere: true });
    findAttrBindings(root, ['system', 'stateVersion']);
    walkNodes(root, (node) => {
      constantValue(node);
    });
  } catch (error) {
    throw new Error(`on input ${JSON.stringify(text)}: ${error instanceof Error ? error.stack : String(error)}`);
  }
}

describe('nix parser fuzzing (no throw, always terminates, always round-trips)', () => {
  it('random characters', () => {
    const rand = random(11);
    for (let i = 0; i < 1500; i++) {
      const len = Math.floor(rand() * 120);
      let text = '';
      for (let k = 0; k < len; k++) text += [...ALPHABET][Math.floor(rand() * [...ALPHABET].length)];
      exercise(text);
    }
  });

  it('random token soups', () => {
    const rand = random(23);
    const spaces = ['', ' ', '\n', '  '];
    for (let i = 0; i < 1500; i++) {
      const len = 1 + Math.floor(rand() * 50);
      let text = '';
      for (let k = 0; k < len; k++) {
        text += TOKENS[Math.floor(rand() * TOKENS.length)]! + spaces[Math.floor(rand() * spaces.length)]!;
      }
      exercise(text);
    }
  });

  it('random edits of the conformance cases', () => {
    const rand = random(37);
    const cases = [...conformanceCases().values()];
    for (const original of cases) {
      for (let m = 0; m < 12; m++) {
        let text = original;
        const edits = 1 + Math.floor(rand() * 3);
        for (let e = 0; e < edits; e++) {
          const at = Math.floor(rand() * (text.length + 1));
          const op = rand();
          if (op < 0.3) text = text.slice(0, at) + TOKENS[Math.floor(rand() * TOKENS.length)]! + text.slice(at);
          else if (op < 0.6) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(rand() * 5));
          else if (op < 0.8) text = text.slice(0, at) + text.slice(at, at + 8) + text.slice(at);
          else text = text.slice(0, at);
        }
        exercise(text);
      }
    }
  });

  it('pathological inputs stay linear', () => {
    for (const text of [
      '-'.repeat(20000),
      '.'.repeat(20000),
      'a+'.repeat(10000) + ':',
      '1.'.repeat(10000),
      '"${'.repeat(10000),
      "''${".repeat(10000),
      '/*'.repeat(10000),
      '{'.repeat(10000),
      'a: '.repeat(10000),
      'x.'.repeat(10000),
      '< '.repeat(10000),
      './a${'.repeat(5000),
    ]) {
      exercise(text);
    }
  });
});

import assert from 'node:assert/strict';
import { checkScope, parse } from '../../../src/core/nix';

function scope(text: string, merge: 'recursive' | 'nix-2.8' = 'recursive'): string[] {
  const { root, errors } = parse(text);
  assert.deepEqual(errors, [], text);
  return checkScope(root, { merge }).map((e) => e.message);
}

describe('nix scope checks', () => {
  it('undefined variables, except under with, and the global names', () => {
    assert.deepEqual(scope('x'), ["undefined variable 'x'"]);
    assert.deepEqual(scope('with y; x'), ["undefined variable 'y'"]);
    assert.deepEqual(scope('[ true false null builtins import map toString __curPos __anything ]'), []);
    assert.deepEqual(scope('{ a ? b, b ? a }: a'), []);
    assert.deepEqual(scope('let a = b; b = 1; in a'), []);
    assert.deepEqual(scope('rec { a = b; b = 1; }'), []);
    assert.deepEqual(scope('{ a = b; b = 1; }'), ["undefined variable 'b'"]);
    assert.deepEqual(scope('let inherit a; in 1'), ["undefined variable 'a'"]);
    assert.deepEqual(scope('{ inherit "q"; }'), ["undefined variable 'q'"]);
    assert.deepEqual(scope('x: { inherit x; y = x.${z}; }'), ["undefined variable 'z'"]);
    assert.deepEqual(scope('x: "${x} ${y}"'), ["undefined variable 'y'"]);
  });

  it('duplicate attributes', () => {
    assert.deepEqual(scope('{ a = 1; a = 2; }'), ["attribute 'a' already defined"]);
    assert.deepEqual(scope('{ a.b = 1; a.b = 2; }'), ["attribute 'a.b' already defined"]);
    assert.deepEqual(scope('x: { inherit x; x = 1; }'), ["attribute 'x' already defined"]);
    assert.deepEqual(scope('{ a = 1; a.b = 2; }'), ["attribute 'a' already defined"]);
    assert.deepEqual(scope('let a = 1; a = 2; in a'), ["attribute 'a' already defined"]);
    assert.deepEqual(scope('{ a.b = 1; a.c = 2; a = { d = 3; }; }'), []);
    assert.deepEqual(scope('x: { ${x} = 1; ${x} = 2; }'), []);
  });

  it('nested merging: current Nix by default, Nix 2.8 on request', () => {
    const text = '{ a.b.c = 1; a = { b = { d = 2; }; }; }';
    assert.deepEqual(scope(text), []);
    assert.deepEqual(scope(text, 'nix-2.8'), ["attribute 'a.b' already defined"]);
    assert.deepEqual(scope('{ a = { b = 1; }; a = { b = 2; }; }'), ["attribute 'a.b' already defined"]);
  });
});

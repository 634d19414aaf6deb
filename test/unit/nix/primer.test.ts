import assert from 'node:assert/strict';
import { FEEDBACK_PRIMER, parse } from '../../../src/core/nix/parser';
import { lex } from '../../../src/core/nix/lexer';
import { printTree, walkNodes } from '../../../src/core/nix/tree';
import type { NodeKind, TokenKind } from '../../../src/core/nix/syntax';

// The parser parses FEEDBACK_PRIMER when it loads so that the JIT has seen every branch before the first real
// file (see parser.ts). It only does its job if it stays valid and keeps covering the rare paths.
describe('nix parser: the JIT feedback primer', () => {
  it('is a valid program that round-trips', () => {
    const { root, errors } = parse(FEEDBACK_PRIMER);
    assert.deepEqual(errors, []);
    assert.equal(printTree(root), FEEDBACK_PRIMER);
  });

  it('goes through every token kind but Error (and the lexer paths behind them)', () => {
    const seen = new Set<TokenKind>(lex(FEEDBACK_PRIMER).tokens.map((t) => t.kind));
    const wanted: TokenKind[] = [
      'Whitespace',
      'Comment',
      'Ident',
      'Integer',
      'Float',
      'Uri',
      'Path',
      'PathContent',
      'SearchPath',
      'Quote',
      'IndStringOpen',
      'IndStringClose',
      'StringContent',
      'DollarCurly',
      'InterpolationEnd',
      'KwIf',
      'KwThen',
      'KwElse',
      'KwAssert',
      'KwWith',
      'KwLet',
      'KwIn',
      'KwRec',
      'KwInherit',
      'KwOr',
      'Ellipsis',
      'LBrace',
      'RBrace',
      'LBrack',
      'RBrack',
      'LParen',
      'RParen',
      'Semicolon',
      'Colon',
      'Comma',
      'Dot',
      'Assign',
      'At',
      'Question',
      'Plus',
      'Minus',
      'Star',
      'Slash',
      'Concat',
      'Update',
      'Eq',
      'NotEq',
      'Less',
      'LessEq',
      'Greater',
      'GreaterEq',
      'And',
      'Or',
      'Implication',
      'Not',
      'PipeRight',
      'PipeLeft',
    ];
    assert.deepEqual(
      wanted.filter((k) => !seen.has(k)),
      [],
    );
  });

  it('goes through every node kind but Error', () => {
    const seen = new Set<NodeKind>();
    walkNodes(parse(FEEDBACK_PRIMER).root, (n) => {
      seen.add(n.kind);
    });
    const wanted: NodeKind[] = [
      'Root',
      'Literal',
      'Ident',
      'String',
      'Path',
      'Interpolation',
      'Paren',
      'List',
      'AttrSet',
      'LegacyLet',
      'Binding',
      'Attrpath',
      'Inherit',
      'InheritFrom',
      'LetIn',
      'With',
      'Assert',
      'IfElse',
      'Lambda',
      'Pattern',
      'PatEntry',
      'PatBind',
      'Apply',
      'Select',
      'HasAttr',
      'BinOp',
      'UnaryOp',
    ];
    assert.deepEqual(
      wanted.filter((k) => !seen.has(k)),
      [],
    );
  });
});

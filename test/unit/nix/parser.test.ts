import assert from 'node:assert/strict';
import {
  childNodes,
  lex,
  parse,
  printTree,
  tokenAt,
  tokensOf,
  type NodeKind,
  type SyntaxNode,
} from '../../../src/core/nix';
import { checkTree, conformanceCases, sexp } from './helpers';

function ok(text: string): SyntaxNode {
  const { root, errors } = parse(text);
  assert.deepEqual(errors, [], `unexpected errors for ${JSON.stringify(text)}`);
  checkTree(text, root);
  return root;
}

function shape(text: string): string {
  return sexp(ok(text));
}

function errorsOf(text: string): string[] {
  const { root, errors } = parse(text);
  checkTree(text, root);
  return errors.map((e) => e.message);
}

function kinds(text: string): string[] {
  return lex(text)
    .tokens.filter((t) => t.kind !== 'Whitespace')
    .map((t) => `${t.kind}:${t.text}`);
}

function exprKind(text: string): NodeKind {
  return childNodes(ok(text))[0]!.kind;
}

describe('nix parser', () => {
  describe('lexer', () => {
    it('numbers: integers, floats in every form, adjacency as Nix lexes it', () => {
      assert.deepEqual(kinds('0 007 1.5 1. .5 0.5 1.5e3 1.5E-3 .5e+2'), [
        'Integer:0',
        'Integer:007',
        'Float:1.5',
        'Float:1.',
        'Float:.5',
        'Float:0.5',
        'Float:1.5e3',
        'Float:1.5E-3',
        'Float:.5e+2',
      ]);
      assert.deepEqual(kinds('1.2.3'), ['Float:1.2', 'Float:.3']);
      assert.deepEqual(kinds('00.5'), ['Integer:00', 'Float:.5']);
      assert.deepEqual(kinds('1e5'), ['Integer:1', 'Ident:e5']);
    });

    it('identifiers with quote and dash, keywords only as whole words', () => {
      assert.deepEqual(kinds("a' a-b _c if iff or or' in inn"), [
        "Ident:a'",
        'Ident:a-b',
        'Ident:_c',
        'KwIf:if',
        'Ident:iff',
        'KwOr:or',
        "Ident:or'",
        'KwIn:in',
        'Ident:inn',
      ]);
    });

    it('paths, search paths, URIs and their longest match', () => {
      assert.deepEqual(kinds('./a ../b/c /abs ~/x a/b 1/2 -a/b <nixpkgs> <a/b>'), [
        'Path:./a',
        'Path:../b/c',
        'Path:/abs',
        'Path:~/x',
        'Path:a/b',
        'Path:1/2',
        'Path:-a/b',
        'SearchPath:<nixpkgs>',
        'SearchPath:<a/b>',
      ]);
      assert.deepEqual(kinds('x:x https://a.b/c?d=e a//b'), [
        'Uri:x:x',
        'Uri:https://a.b/c?d=e',
        'Ident:a',
        'Update://',
        'Ident:b',
      ]);
      assert.deepEqual(kinds('a < b'), ['Ident:a', 'Less:<', 'Ident:b']);
      assert.deepEqual(kinds('a <b> c'), ['Ident:a', 'SearchPath:<b>', 'Ident:c']);
    });

    it('interpolated paths: segments and ${} pieces', () => {
      assert.deepEqual(kinds('./a/${b}/c${d}e'), [
        'Path:./a/',
        'DollarCurly:${',
        'Ident:b',
        'InterpolationEnd:}',
        'PathContent:/c',
        'DollarCurly:${',
        'Ident:d',
        'InterpolationEnd:}',
        'PathContent:e',
      ]);
      assert.deepEqual(kinds('a/${b}'), ['Path:a/', 'DollarCurly:${', 'Ident:b', 'InterpolationEnd:}']);
      assert.deepEqual(kinds('~/${b}'), ['Path:~/', 'DollarCurly:${', 'Ident:b', 'InterpolationEnd:}']);
    });

    it('operators, longest first', () => {
      assert.deepEqual(kinds('== != <= >= && || -> // ++ |> <| ... ! - + * / < > ? @ : ; , . ='), [
        'Eq:==',
        'NotEq:!=',
        'LessEq:<=',
        'GreaterEq:>=',
        'And:&&',
        'Or:||',
        'Implication:->',
        'Update://',
        'Concat:++',
        'PipeRight:|>',
        'PipeLeft:<|',
        'Ellipsis:...',
        'Not:!',
        'Minus:-',
        'Plus:+',
        'Star:*',
        'Slash:/',
        'Less:<',
        'Greater:>',
        'Question:?',
        'At:@',
        'Colon::',
        'Semicolon:;',
        'Comma:,',
        'Dot:.',
        'Assign:=',
      ]);
    });

    it('strings: escapes, dollars and interpolation boundaries', () => {
      assert.deepEqual(kinds('"a\\"b$${x}$"'), ['Quote:"', 'StringContent:a\\"b$${x}$', 'Quote:"']);
      assert.deepEqual(kinds('"a${b}c"'), [
        'Quote:"',
        'StringContent:a',
        'DollarCurly:${',
        'Ident:b',
        'InterpolationEnd:}',
        'StringContent:c',
        'Quote:"',
      ]);
      assert.deepEqual(kinds('"${ { a = 1; }.a }"').slice(0, 4), ['Quote:"', 'DollarCurly:${', 'LBrace:{', 'Ident:a']);
    });

    it("indented strings: '' escapes, lone quotes and dollars", () => {
      assert.deepEqual(kinds("''\n  a ''$ ''' ''\\n 'b' $c ${d}''"), [
        "IndStringOpen:''\n",
        'StringContent:  a ',
        "StringContent:''$",
        'StringContent: ',
        "StringContent:'''",
        'StringContent: ',
        "StringContent:''\\n",
        "StringContent: 'b' $c ",
        'DollarCurly:${',
        'Ident:d',
        'InterpolationEnd:}',
        "IndStringClose:''",
      ]);
    });

    it('comments: line comments stop at CR or LF, block comments at the first */', () => {
      assert.deepEqual(
        lex('# a\r1 /* b * / */ 2 /***/').tokens.map((t) => t.kind),
        ['Comment', 'Whitespace', 'Integer', 'Whitespace', 'Comment', 'Whitespace', 'Integer', 'Whitespace', 'Comment'],
      );
      assert.deepEqual(
        lex('/* open').errors.map((e) => e.message),
        ['unterminated comment'],
      );
    });

    it('reports lexical errors: trailing slash, integer and float range, unknown characters', () => {
      assert.deepEqual(
        lex('./a/ 9223372036854775808 9223372036854775807 1.0e999 1.0e-999 0.0 %').errors.map((e) => e.message),
        [
          'path has a trailing slash',
          "invalid integer '9223372036854775808'",
          "invalid float '1.0e999'",
          "invalid float '1.0e-999'",
          "unexpected character '%'",
        ],
      );
      assert.deepEqual(
        lex('1\u0000x \f').errors.map((e) => e.message),
        ['unexpected character U+0000', 'unexpected character U+000C'],
      );
    });

    it('tokens made on first read are the same objects on every read, each under its own node', () => {
      const text = '{ a = "x${b}"; /* c */ d = ./p/${e}; }\n';
      const root = ok(text);
      // read part of the tree first (the `d` binding), then all of it, twice
      const set = childNodes(root)[0]!;
      const second = childNodes(set)[1]!;
      const partial = tokensOf(second);
      const first = tokensOf(root);
      const again = tokensOf(root);
      assert.equal(first.length, again.length);
      first.forEach((t, i) => assert.equal(t, again[i], `token ${i} made twice`));
      for (const t of partial) assert.ok(first.includes(t), `token ${t.kind} of the binding not in the tree`);
      for (const t of first)
        assert.ok(t.parent?.children.includes(t), `token ${t.kind} not among its parent's children`);
      assert.equal(tokenAt(root, text.indexOf('c */'))?.kind, 'Comment');
      assert.equal(
        tokenAt(root, text.indexOf('c */')),
        tokensOf(root).find((t) => t.kind === 'Comment'),
      );
      assert.deepEqual(
        lex(text).tokens.map((t) => `${t.kind}:${t.text}`),
        first.map((t) => `${t.kind}:${t.text}`),
      );
    });
  });

  describe('grammar', () => {
    it('parses every construct into the expected node kind', () => {
      const cases: [string, NodeKind][] = [
        ['1', 'Literal'],
        ['1.5', 'Literal'],
        ['http://x', 'Literal'],
        ['a', 'Ident'],
        ['"s"', 'String'],
        ["''s''", 'String'],
        ['./p', 'Path'],
        ['<p>', 'Path'],
        ['(1)', 'Paren'],
        ['[ 1 ]', 'List'],
        ['{ }', 'AttrSet'],
        ['rec { }', 'AttrSet'],
        ['let { body = 1; }', 'LegacyLet'],
        ['let a = 1; in a', 'LetIn'],
        ['with a; b', 'With'],
        ['assert a; b', 'Assert'],
        ['if a then b else c', 'IfElse'],
        ['x: x', 'Lambda'],
        ['{ x }: x', 'Lambda'],
        ['f x', 'Apply'],
        ['a.b', 'Select'],
        ['a ? b', 'HasAttr'],
        ['a + b', 'BinOp'],
        ['-a', 'UnaryOp'],
        ['!a', 'UnaryOp'],
        ['a |> f', 'BinOp'],
      ];
      for (const [text, kind] of cases) assert.equal(exprKind(text), kind, text);
    });

    it('operator precedence and associativity match Nix', () => {
      // Each expected form was checked against `nix-instantiate --parse`.
      const cases: [string, string][] = [
        ['a -> b || c', '(a -> (b || c))'],
        ['!a && b', '((!a) && b)'],
        ['-a * b', '((-a) * b)'],
        ['- a ++ b', '((-a) ++ b)'],
        ['a // b ++ c', '(a // (b ++ c))'],
        ['!a // b', '((!a) // b)'],
        ['a + b // c', '((a + b) // c)'],
        ['a < b // c', '(a < (b // c))'],
        ['!a ? b', '(!(a ? b))'],
        ['-a ? b', '((-a) ? b)'],
        ['a ? b ? c', '((a ? b) ? c)'],
        ['1 + a ? b', '(1 + (a ? b))'],
        ['a ++ b ? c', '(a ++ (b ? c))'],
        ['!a + b', '(!(a + b))'],
        ['a -> b -> c', '(a -> (b -> c))'],
        ['a // b // c', '(a // (b // c))'],
        ['a ++ b ++ c', '(a ++ (b ++ c))'],
        ['a - b - c', '((a - b) - c)'],
        ['a / b / c', '((a / b) / c)'],
        ['a + b * c - d / e', '((a + (b * c)) - (d / e))'],
        ['a.b or c d', '((a.b or c) d)'],
        ['- a b', '(-(a b))'],
        ['a == !b', '(a == (!b))'],
        ['a || !b && c', '(a || ((!b) && c))'],
        ['a < b == c > d', '((a < b) == (c > d))'],
        ['!a == b', '((!a) == b)'],
        ['a || b || c', '((a || b) || c)'],
        ['a && b || c && d', '((a && b) || (c && d))'],
        ['f a b c', '(((f a) b) c)'],
        ['f a.b c', '((f (a.b)) c)'],
        ['a.b.c', '(a.b.c)'],
        ['a |> f |> g', '((a |> f) |> g)'],
        ['g <| f <| a', '(g <| (f <| a))'],
        ['a + b |> f', '((a + b) |> f)'],
        ['a -> b |> f', '((a -> b) |> f)'],
        ['x: x + 1', '(x: (x + 1))'],
        ['if a then b else c + 1', '(if a then b else (c + 1))'],
        ['a - -b', '(a - (-b))'],
        ['map or [ 1 ]', '((map or) [1])'],
      ];
      for (const [text, expected] of cases) assert.equal(shape(text), expected, text);
    });

    it('lambdas: formals, defaults, ellipsis, trailing comma, @-binding on either side', () => {
      assert.equal(shape('{ a, b ? 1, ... }@args: a'), '({ a, b ? 1, ... }@args: a)');
      assert.equal(shape('args @ { a }: a'), '(args @ { a }: a)');
      ok('{ a, }: a');
      ok('{ }: 1');
      ok('{ ... }: 1');
      ok('{ a ? b, b ? a }: a');
    });

    it('attribute sets: dotted, quoted, interpolated and `or` keys; inherit forms', () => {
      const root = ok('x: { a.b.c = 1; "q k" = 2; ${x} = 3; "${x}" = 4; or = 5; inherit x; inherit (x) y "z"; }');
      assert.equal(tokensOf(root).filter((t) => t.kind === 'KwInherit').length, 2);
      ok('let a.b = 1; in a');
      ok('let { x = 1; body = x; }');
    });

    it('select with `or`, and `or` as an attribute name', () => {
      assert.equal(shape('a.b or c'), '(a.b or c)');
      assert.equal(shape('a.or'), '(a.or)');
      assert.equal(shape('a.x or a.y or 3'), '(a.x or (a.y or 3))');
      assert.equal(shape('a.${"b"} or 1'), '(a.${"b"} or 1)');
    });

    it('strings and paths keep their interpolations as nodes', () => {
      const root = ok("[ \"a${b}c\" ''x ${y} z'' ./p/${q}/r ]");
      const interps = tokensOf(root).filter((t) => t.kind === 'DollarCurly').length;
      assert.equal(interps, 3);
    });

    it('comments and whitespace are tokens of the tree', () => {
      const text = '# head\n{ /* a */ a = 1; # b\n}\n';
      const root = ok(text);
      assert.deepEqual(
        tokensOf(root)
          .filter((t) => t.kind === 'Comment')
          .map((t) => t.text),
        ['# head', '/* a */', '# b'],
      );
      // Node ranges start and end on significant tokens.
      const set = childNodes(root)[0]!;
      assert.equal(text.slice(set.start, set.end), '{ /* a */ a = 1; # b\n}');
    });
  });

  describe('what Nix rejects', () => {
    it('non-associative operators', () => {
      assert.deepEqual(errorsOf('a == b == c'), ["unexpected '=='"]);
      assert.deepEqual(errorsOf('a < b < c'), ["unexpected '<'"]);
      assert.deepEqual(errorsOf('a == b != c'), ["unexpected '!='"]);
      assert.deepEqual(errorsOf('a |> f <| b'), ["unexpected '<|'"]);
    });

    it('if/let/with/assert/lambda as operands or arguments', () => {
      for (const text of ['1 + if a then b else c', 'f if a then b else c', '1 + let a = 1; in a', 'y: 1 + x: x']) {
        assert.ok(errorsOf(text).length > 0, text);
      }
    });

    it('checks Nix makes while parsing: duplicate formals, dynamic names in let and inherit', () => {
      assert.deepEqual(errorsOf('{ a, a }: a'), ["duplicate formal function argument 'a'"]);
      assert.deepEqual(errorsOf('a @ { a }: a'), ["duplicate formal function argument 'a'"]);
      assert.deepEqual(errorsOf('x: let ${x} = 1; in 1'), ['dynamic attributes not allowed in let']);
      assert.deepEqual(errorsOf('x: { inherit "a${x}"; }'), ['dynamic attributes not allowed in inherit']);
      assert.deepEqual(errorsOf('let ${"a"} = 1; in a'), []);
      assert.deepEqual(errorsOf('[ a/b//c ]').length, 1);
    });

    it('formals in the wrong order or shape', () => {
      for (const text of ['{ ..., a }: a', '{ , }: 1', '{ a, , b }: a', '{ a b }: a', '{ a, ..., }: a']) {
        assert.ok(errorsOf(text).length > 0, text);
      }
    });

    it('an empty file', () => {
      assert.deepEqual(errorsOf(''), ['unexpected end of file']);
      assert.deepEqual(errorsOf('# only a comment\n'), ['unexpected end of file']);
    });
  });

  describe('error recovery', () => {
    it('a missing semicolon: one error, the next binding still parsed', () => {
      const text = '{\n  a = 1\n  b = 2;\n  c = 3;\n}';
      const { root, errors } = parse(text);
      checkTree(text, root);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!.message, /expected ';'/);
      assert.ok(sexp(root).includes('c = 3;'), sexp(root));
    });

    it('a missing value: error at the semicolon, later bindings intact', () => {
      const text = '{ a = ; b = 2; }';
      const { root, errors } = parse(text);
      assert.deepEqual(
        errors.map((e) => [e.message, e.start]),
        [["unexpected ';'", 6]],
      );
      assert.equal(sexp(root), '{ a = <error>; b = 2; }');
    });

    it('junk inside a set is skipped up to the next semicolon', () => {
      const { root, errors } = parse('{ = { x = 1; }; b = 2; }');
      assert.equal(errors.length, 1);
      assert.ok(sexp(root).endsWith('b = 2; }'), sexp(root));
    });

    it('unterminated constructs report and still give a full tree', () => {
      for (const text of [
        '{ a = 1;',
        '[ 1 2',
        '(1 + 2',
        '"abc',
        "''abc",
        '"${1',
        'let a = 1; in',
        'x: y:',
        '{ a, b',
        'a.',
      ]) {
        const { root, errors } = parse(text);
        checkTree(text, root);
        assert.ok(errors.length > 0, text);
        for (const e of errors) assert.ok(e.start >= 0 && e.end <= text.length && e.start <= e.end, text);
      }
    });

    it('an end-of-file error points just after the last token, not after trailing blank lines', () => {
      const { errors } = parse('{ a = 1;\n\n\n');
      assert.equal(errors[0]!.start, 8);
    });

    it('errors are sorted, one per offset', () => {
      const { errors } = parse('{ a = 1 b = ; c = [ 1, 2 ; }');
      for (let i = 1; i < errors.length; i++) assert.ok(errors[i]!.start > errors[i - 1]!.start);
    });

    it('deep nesting is an error, never a crash', () => {
      for (const text of ['('.repeat(100000), '['.repeat(100000), '{a='.repeat(50000), '-'.repeat(100000) + '1']) {
        const { root } = parse(text);
        assert.equal(printTree(root), text);
      }
      const deep = `${'('.repeat(5000)}1${')'.repeat(5000)}`;
      assert.deepEqual(
        parse(deep).errors.map((e) => e.message),
        ['expression nested too deeply'],
      );
      assert.deepEqual(parse(`${'('.repeat(200)}1${')'.repeat(200)}`).errors, []);
    });

    it('long operator chains in either associativity', () => {
      ok(Array.from({ length: 20000 }, () => '[ 1 ]').join(' ++ '));
      ok(Array.from({ length: 20000 }, () => '1').join(' + '));
    });
  });

  describe('the committed conformance cases', () => {
    it('round-trip byte for byte, and ok-/err- cases are accepted/rejected', () => {
      const cases = conformanceCases();
      assert.ok(cases.size > 100);
      for (const [name, text] of cases) {
        const { root, errors } = parse(text);
        checkTree(text, root);
        if (name.startsWith('ok-') || name.startsWith('scope-') || name.startsWith('newer-')) {
          assert.deepEqual(errors, [], name);
        } else if (name.startsWith('err-')) {
          assert.ok(errors.length > 0, name);
        }
      }
    });
  });
});

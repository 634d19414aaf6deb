/** Test helpers: a parenthesised rendering of a tree (to check precedence) and tree invariants. */
import * as path from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import { childNodes, nodeText, printTree, type SyntaxElement, type SyntaxNode } from '../../../src/core/nix';

/** `1 + 2 * 3` -> `(1 + (2 * 3))`; parentheses in the source are dropped, structure is made explicit. */
export function sexp(node: SyntaxNode | undefined): string {
  if (!node) return '<missing>';
  const kids = childNodes(node);
  const op = (): string => {
    for (const c of node.children) if (c.isToken && c.kind !== 'Whitespace' && c.kind !== 'Comment') return c.text;
    return '?';
  };
  switch (node.kind) {
    case 'Root':
      return kids.map(sexp).join(' ');
    case 'Paren':
      return sexp(kids[0]);
    case 'BinOp':
      return `(${sexp(kids[0])} ${op()} ${sexp(kids[1])})`;
    case 'UnaryOp':
      return `(${op()}${sexp(kids[0])})`;
    case 'Apply':
      return `(${sexp(kids[0])} ${sexp(kids[1])})`;
    case 'Select': {
      const base = `${sexp(kids[0])}.${nodeText(kids[1]!)}`;
      return kids[2] ? `(${base} or ${sexp(kids[2])})` : `(${base})`;
    }
    case 'HasAttr':
      return `(${sexp(kids[0])} ? ${nodeText(kids[1]!)})`;
    case 'Lambda':
      return `(${nodeText(kids[0]!)}: ${sexp(kids[1])})`;
    case 'IfElse':
      return `(if ${sexp(kids[0])} then ${sexp(kids[1])} else ${sexp(kids[2])})`;
    case 'LetIn': {
      const binds = kids.slice(0, -1).map((b) => nodeText(b));
      return `(let ${binds.join(' ')} in ${sexp(kids[kids.length - 1])})`;
    }
    case 'With':
    case 'Assert':
      return `(${node.kind === 'With' ? 'with' : 'assert'} ${sexp(kids[0])}; ${sexp(kids[1])})`;
    case 'List':
      return `[${kids.map(sexp).join(' ')}]`;
    case 'AttrSet':
      return `{${kids
        .map((b) => {
          if (b.kind !== 'Binding') return ` ${nodeText(b)}`;
          const [k, v] = childNodes(b);
          return ` ${nodeText(k!)} = ${sexp(v)};`;
        })
        .join('')} }`;
    case 'Error':
      return '<error>';
    default:
      return nodeText(node);
  }
}

/** Checks the tree invariants; throws (an assertion) when one fails. */
export function checkTree(text: string, root: SyntaxNode): void {
  if (printTree(root) !== text) throw new Error('tree does not print back to the text');
  if (root.start !== 0 || root.end !== text.length) throw new Error(`root range ${root.start}-${root.end}`);
  let offset = 0;
  const stack: SyntaxElement[] = [root];
  while (stack.length > 0) {
    const el = stack.pop()!;
    if (el.isToken) {
      if (el.start !== offset) throw new Error(`token ${el.kind} at ${el.start}, expected ${offset}`);
      if (el.end < el.start) throw new Error('negative token');
      offset = el.end;
      continue;
    }
    let last = el.start;
    for (const c of el.children) {
      if (c.parent !== el) throw new Error(`bad parent link under ${el.kind}`);
      if (c.start < last || c.end < c.start) throw new Error(`children of ${el.kind} out of order`);
      last = c.end;
    }
    if (el.children.length > 0) {
      if (el.start !== el.children[0]!.start || el.end !== el.children[el.children.length - 1]!.end) {
        throw new Error(`range of ${el.kind} does not match its children`);
      }
    }
    for (let i = el.children.length - 1; i >= 0; i--) stack.push(el.children[i]!);
  }
  if (offset !== text.length) throw new Error(`tokens end at ${offset}, text at ${text.length}`);
}

export const CASES_DIR = path.resolve(__dirname, '../../../../test/conformance/cases');

/** The committed conformance cases: name -> text. */
export function conformanceCases(): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(CASES_DIR).sort()) {
    if (name.endsWith('.nix')) out.set(name, readFileSync(path.join(CASES_DIR, name), 'utf8'));
  }
  return out;
}

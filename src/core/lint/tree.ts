/**
 * Small queries over the Nix syntax tree used by the lint rules: names, constant strings, function
 * applications, scopes. Written on the tree's public shape (src/core/nix/syntax.ts) only.
 */
import type { SyntaxElement, SyntaxNode, SyntaxToken } from '../nix';

export function childNodes(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (const c of node.children) if (!c.isToken) out.push(c);
  return out;
}

export function childTokens(node: SyntaxNode): SyntaxToken[] {
  const out: SyntaxToken[] = [];
  for (const c of node.children) if (c.isToken) out.push(c);
  return out;
}

export function hasToken(node: SyntaxNode, kind: SyntaxToken['kind']): boolean {
  return node.children.some((c) => c.isToken && c.kind === kind);
}

/** The expression inside any number of parentheses. */
export function peelParens(node: SyntaxNode): SyntaxNode {
  let n = node;
  for (let i = 0; i < 64 && n.kind === 'Paren'; i++) {
    const inner = childNodes(n)[0];
    if (!inner) break;
    n = inner;
  }
  return n;
}

export function identName(node: SyntaxNode | undefined): string | undefined {
  if (!node || node.kind !== 'Ident') return undefined;
  const t = node.children.find((c): c is SyntaxToken => c.isToken && (c.kind === 'Ident' || c.kind === 'KwOr'));
  return t?.text;
}

/** The static names of an Attrpath (undefined for a name computed with `${…}`). */
export function attrNames(attrpath: SyntaxNode): (string | undefined)[] {
  const names: (string | undefined)[] = [];
  for (const part of childNodes(attrpath)) {
    if (part.kind === 'Ident') names.push(identName(part));
    else if (part.kind === 'String') names.push(stringValue(part));
    else if (part.kind === 'Interpolation') {
      const inner = childNodes(part)[0];
      names.push(inner && inner.kind === 'String' ? stringValue(inner) : undefined);
    } else names.push(undefined);
  }
  return names;
}

/** The value of a string without interpolation (escapes decoded, indented strings de-indented); else undefined. */
export function stringValue(node: SyntaxNode): string | undefined {
  if (node.kind !== 'String') return undefined;
  let raw = '';
  let indented = false;
  for (const c of node.children) {
    if (!c.isToken) return undefined; // an Interpolation
    if (c.kind === 'IndStringOpen') indented = true;
    else if (c.kind === 'StringContent') raw += c.text;
    else if (c.kind === 'DollarCurly') return undefined;
  }
  return indented ? decodeIndented(raw) : decodeDoubleQuoted(raw);
}

function decodeDoubleQuoted(raw: string): string {
  return raw.replace(/\\(.)/gs, (_m, ch: string) => (ch === 'n' ? '\n' : ch === 't' ? '\t' : ch === 'r' ? '\r' : ch));
}

function decodeIndented(raw: string): string {
  const lines = raw.split('\n');
  const widths = lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length);
  const strip = widths.length ? Math.min(...widths) : 0;
  const text = lines.map((l) => l.slice(Math.min(strip, /^ */.exec(l)![0].length))).join('\n');
  return text
    .replace(/'''/g, "''")
    .replace(/''\$/g, '$')
    .replace(/''\\(.)/gs, (_m, ch: string) => (ch === 'n' ? '\n' : ch === 't' ? '\t' : ch === 'r' ? '\r' : ch));
}

/** `a.b.c` as a dotted string when the expression is an identifier followed by static names. */
export function dottedName(node: SyntaxNode): string | undefined {
  const n = peelParens(node);
  if (n.kind === 'Ident') return identName(n);
  if (n.kind === 'Select') {
    if (hasToken(n, 'KwOr')) return undefined;
    const [base, path] = childNodes(n);
    if (!base || !path || path.kind !== 'Attrpath') return undefined;
    const head = dottedName(base);
    const names = attrNames(path);
    if (head === undefined || names.some((x) => x === undefined)) return undefined;
    return [head, ...(names as string[])].join('.');
  }
  return undefined;
}

/** A curried application `f a b` as the function and its arguments. */
export function applyParts(node: SyntaxNode): { fn: SyntaxNode; args: SyntaxNode[] } {
  let n = peelParens(node);
  const args: SyntaxNode[] = [];
  for (let i = 0; i < 64 && n.kind === 'Apply'; i++) {
    const [fn, arg] = childNodes(n);
    if (!fn || !arg) break;
    args.unshift(arg);
    n = peelParens(fn);
  }
  return { fn: n, args };
}

/** The last name of a function expression: `lib.mkDefault` -> "mkDefault", `mkIf` -> "mkIf". */
export function functionName(fn: SyntaxNode): string | undefined {
  const name = dottedName(fn);
  if (name === undefined) return undefined;
  const parts = name.split('.');
  return parts[parts.length - 1];
}

const PRIORITY_WRAPPERS = new Set([
  'mkDefault',
  'mkForce',
  'mkOverride',
  'mkOptionDefault',
  'mkImageMediaOverride',
  'mkVMOverride',
]);

/** Peels `mkDefault x`, `lib.mkForce x`, `mkOverride 900 x` (and parentheses) around a value. */
export function peelPriority(node: SyntaxNode): SyntaxNode {
  let n = peelParens(node);
  for (let i = 0; i < 16; i++) {
    if (n.kind !== 'Apply') return n;
    const { fn, args } = applyParts(n);
    const name = functionName(fn);
    if (!name || !PRIORITY_WRAPPERS.has(name)) return n;
    const expected = name === 'mkOverride' ? 2 : 1;
    if (args.length !== expected) return n;
    n = peelParens(args[args.length - 1]!);
  }
  return n;
}

export function sourceText(text: string, node: SyntaxElement): string {
  return text.slice(node.start, node.end);
}

/** Where an identifier comes from, looking outwards from `at`. */
export type Origin =
  | { kind: 'let'; value: SyntaxNode; binding: SyntaxNode }
  | { kind: 'param'; lambda: SyntaxNode; defaultValue?: SyntaxNode }
  | { kind: 'with' }
  | { kind: 'unknown' };

/** Resolves `name` at `at` through let/rec bindings, lambda parameters and `with` (which makes it unknown). */
export function resolveName(at: SyntaxNode, name: string): Origin {
  let sawWith = false;
  let prev: SyntaxNode | undefined;
  for (let n: SyntaxNode | undefined = at; n; prev = n, n = n.parent) {
    if (n.kind === 'LetIn' || n.kind === 'LegacyLet' || (n.kind === 'AttrSet' && hasToken(n, 'KwRec'))) {
      const found = findBindingIn(n, name);
      if (found) return found;
    } else if (n.kind === 'Lambda') {
      const [param, body] = childNodes(n);
      if (prev !== undefined && prev === body && param) {
        if (param.kind === 'Ident' && identName(param) === name) return { kind: 'param', lambda: n };
        if (param.kind === 'Pattern') {
          for (const entry of childNodes(param)) {
            if (entry.kind === 'PatEntry') {
              const [id, def] = childNodes(entry);
              if (identName(id) === name)
                return def ? { kind: 'param', lambda: n, defaultValue: def } : { kind: 'param', lambda: n };
            } else if (entry.kind === 'PatBind') {
              const id = childNodes(entry)[0];
              if (identName(id) === name) return { kind: 'param', lambda: n };
            }
          }
        }
      }
    } else if (n.kind === 'With') {
      const parts = childNodes(n);
      if (prev !== undefined && prev === parts[1]) sawWith = true;
    }
  }
  return sawWith ? { kind: 'with' } : { kind: 'unknown' };
}

function findBindingIn(scope: SyntaxNode, name: string): Origin | undefined {
  for (const b of childNodes(scope)) {
    if (b.kind === 'Binding') {
      const [path, value] = childNodes(b);
      if (!path || !value) continue;
      const names = attrNames(path);
      if (names.length === 1 && names[0] === name) return { kind: 'let', value, binding: b };
    } else if (b.kind === 'Inherit') {
      const from = childNodes(b).find((c) => c.kind === 'InheritFrom');
      for (const id of childNodes(b)) {
        if (id.kind === 'Ident' && identName(id) === name) {
          if (!from) return { kind: 'unknown' };
          return { kind: 'let', value: id, binding: b };
        }
      }
    }
  }
  return undefined;
}

/** Line/column arithmetic for one text (0-based lines, UTF-16 columns). */
export class Lines {
  private readonly starts: number[] = [0];
  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }

  position(offset: number): { line: number; character: number } {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: o - this.starts[lo]! };
  }

  offset(line: number, character: number): number {
    if (line < 0) return 0;
    if (line >= this.starts.length) return this.text.length;
    return Math.min(
      this.starts[line]! + character,
      line + 1 < this.starts.length ? this.starts[line + 1]! - 1 : this.text.length,
    );
  }

  range(
    start: number,
    end: number,
  ): { start: { line: number; character: number }; end: { line: number; character: number } } {
    return { start: this.position(start), end: this.position(end) };
  }

  /** The leading whitespace of the line holding `offset`. */
  indentAt(offset: number): string {
    const line = this.position(offset).line;
    const start = this.starts[line]!;
    return /^[ \t]*/.exec(this.text.slice(start, start + 200))![0];
  }
}

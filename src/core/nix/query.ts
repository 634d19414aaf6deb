/**
 * Questions the lint and the pin edit ask of a parsed Nix file: where an attribute path is bound (however it
 * is written), what a value is when it is a constant, how to walk attribute sets, calls and lambdas.
 *
 * Paths are lists of static attribute names (`["system", "stateVersion"]`). Dynamic names (`${x}`,
 * `"a${b}"`) never match a path.
 */
import type { SyntaxNode, SyntaxToken } from './syntax';
import { childNode, childNodes, childToken, walkNodes } from './tree';

// ------------------------------------------------------------------------------------------ names

/** The static name of an attribute name node (`a`, `"a"`, `${"a"}`), or undefined when it is dynamic. */
export function attrName(name: SyntaxNode): string | undefined {
  if (name.kind === 'Ident') {
    const t = name.children.find((c): c is SyntaxToken => c.isToken && (c.kind === 'Ident' || c.kind === 'KwOr'));
    return t?.text;
  }
  if (name.kind === 'String') {
    const v = stringValue(name);
    return v;
  }
  if (name.kind === 'Interpolation') {
    const inner = unparen(childNode(name));
    return inner && inner.kind === 'String' ? stringValue(inner) : undefined;
  }
  return undefined;
}

/** The names of an `Attrpath` node; undefined entries for dynamic names. */
export function attrPathNames(attrpath: SyntaxNode): (string | undefined)[] {
  return childNodes(attrpath).map(attrName);
}

/** Static names of an `Attrpath`, or undefined when any of them is dynamic. */
export function staticAttrPath(attrpath: SyntaxNode): string[] | undefined {
  const names = attrPathNames(attrpath);
  return names.every((n): n is string => n !== undefined) ? names : undefined;
}

/** The name of an `Ident` node (variable or attribute name). */
export function identName(node: SyntaxNode | undefined): string | undefined {
  return node && node.kind === 'Ident' ? attrName(node) : undefined;
}

// ------------------------------------------------------------------------------------------ peeling

/** Strips parentheses (an empty, broken `( )` is kept as it is). */
export function unparen(node: SyntaxNode): SyntaxNode;
export function unparen(node: SyntaxNode | undefined): SyntaxNode | undefined;
export function unparen(node: SyntaxNode | undefined): SyntaxNode | undefined {
  let n = node;
  for (let inner = n && n.kind === 'Paren' ? childNode(n) : undefined; inner;) {
    n = inner;
    inner = n.kind === 'Paren' ? childNode(n) : undefined;
  }
  return n;
}

/** A function application flattened: `f a b` -> head `f`, args `[a, b]`. */
export interface Call {
  node: SyntaxNode;
  head: SyntaxNode;
  args: SyntaxNode[];
  /** The callee as a dotted name when it is a variable or a static selection (`lib.mkDefault`), else undefined. */
  callee: string | undefined;
  /** The last component of `callee` (`mkDefault`). */
  name: string | undefined;
}

/** Flattens an `Apply` chain; undefined for anything else. */
export function asCall(node: SyntaxNode | undefined): Call | undefined {
  const n = unparen(node);
  if (!n || n.kind !== 'Apply') return undefined;
  const args: SyntaxNode[] = [];
  let head: SyntaxNode = n;
  // `(f a) b` is `f a b`.
  while (head.kind === 'Apply') {
    const parts = childNodes(head);
    if (parts.length < 2) return undefined;
    args.unshift(parts[1]!);
    head = unparen(parts[0]!);
  }
  const inner = head;
  const callee = dottedName(inner);
  const name = callee?.split('.').pop();
  return { node: n, head: inner, args, callee, name };
}

/** `a` or `a.b.c` (static, parentheses allowed) as a dotted string; undefined otherwise. */
export function dottedName(expr: SyntaxNode): string | undefined {
  const node = unparen(expr);
  if (node.kind === 'Ident') return identName(node);
  if (node.kind === 'Select' && !childToken(node, 'KwOr')) {
    const [base, path] = childNodes(node);
    if (!base || !path) return undefined;
    const baseName = dottedName(base);
    const names = staticAttrPath(path);
    return baseName !== undefined && names ? [baseName, ...names].join('.') : undefined;
  }
  return undefined;
}

/** A module-system wrapper peeled off a value (`lib.mkDefault v`, `mkOverride 50 v`, `mkIf cond v`...). */
export interface Wrapper {
  /** The function's last name: `mkDefault`, `mkForce`, `mkOverride`, `mkIf`, ... */
  name: string;
  /** As written: `lib.mkDefault`, `mkForce`, `lib.modules.mkOverride`. */
  callee: string;
  /** The whole application node. */
  node: SyntaxNode;
  /** The leading arguments (the priority of `mkOverride`, the condition of `mkIf`, ...). */
  args: SyntaxNode[];
  /** `mkOverride`'s priority when it is a constant number. */
  priority?: number;
}

/** Wrapper functions and how many arguments they take (the value is the last one). */
const WRAPPERS: ReadonlyMap<string, number> = new Map([
  ['mkDefault', 1],
  ['mkForce', 1],
  ['mkOverride', 2],
  ['mkOptionDefault', 1],
  ['mkImageMediaOverride', 1],
  ['mkVMOverride', 1],
  ['mkIf', 2],
  ['mkBefore', 1],
  ['mkAfter', 1],
  ['mkOrder', 2],
  ['mkAliasDefinitions', 1],
]);

/** The wrappers that only change a definition's priority (not whether it applies, unlike `mkIf`). */
export const PRIORITY_WRAPPERS: ReadonlySet<string> = new Set([
  'mkDefault',
  'mkForce',
  'mkOverride',
  'mkOptionDefault',
  'mkImageMediaOverride',
  'mkVMOverride',
]);

/** Peels module-system wrappers (all of them, or those named in `only`) and parentheses off a value. */
export function peelWrappers(node: SyntaxNode, only?: ReadonlySet<string>): { value: SyntaxNode; wrappers: Wrapper[] } {
  const wrappers: Wrapper[] = [];
  let value = unparen(node) ?? node;
  for (;;) {
    const call = asCall(value);
    if (!call || !call.name || !call.callee) break;
    if (only && !only.has(call.name)) break;
    const arity = WRAPPERS.get(call.name);
    if (arity === undefined || call.args.length !== arity) break;
    const wrapper: Wrapper = { name: call.name, callee: call.callee, node: call.node, args: call.args.slice(0, -1) };
    if (call.name === 'mkOverride') {
      const p = constantValue(call.args[0]!);
      if (p && p.kind === 'number') wrapper.priority = p.value;
    }
    wrappers.push(wrapper);
    value = unparen(call.args[arity - 1]!) ?? call.args[arity - 1]!;
  }
  return { value, wrappers };
}

/** The value under priority wrappers only (`lib.mkDefault x`, `mkOverride 900 x`): a `mkIf` is kept. */
export function peelPriority(node: SyntaxNode): SyntaxNode {
  return peelWrappers(node, PRIORITY_WRAPPERS).value;
}

/** A call's function and arguments; a node that is not an application is its own function with no argument. */
export function callParts(node: SyntaxNode): { fn: SyntaxNode; args: SyntaxNode[]; name: string | undefined } {
  const call = asCall(node);
  if (call) return { fn: call.head, args: call.args, name: call.name };
  const fn = unparen(node);
  return { fn, args: [], name: dottedName(fn)?.split('.').pop() };
}

// ------------------------------------------------------------------------------------------ constants

export type ConstantValue =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null'; value: null };

/**
 * The value of a constant expression: numbers, strings without (non-constant) interpolation, `true`,
 * `false`, `null`, and `+` of constants (`"24" + ".05"`, `1 + 2`), unary minus; parentheses are transparent.
 * Undefined when the value is not a constant.
 */
export function constantValue(node: SyntaxNode | undefined, depth = 0): ConstantValue | undefined {
  const n = unparen(node);
  if (!n || depth > 200) return undefined;
  switch (n.kind) {
    case 'Literal': {
      const t = n.children.find((c): c is SyntaxToken => c.isToken && c.kind !== 'Whitespace' && c.kind !== 'Comment');
      if (!t) return undefined;
      if (t.kind === 'Integer') return { kind: 'number', value: Number(t.text) };
      if (t.kind === 'Float')
        return { kind: 'number', value: Number(t.text.endsWith('.') ? t.text.slice(0, -1) : t.text) };
      if (t.kind === 'Uri') return { kind: 'string', value: t.text };
      return undefined;
    }
    case 'Ident': {
      const name = identName(n);
      if (name === 'true') return { kind: 'bool', value: true };
      if (name === 'false') return { kind: 'bool', value: false };
      if (name === 'null') return { kind: 'null', value: null };
      return undefined;
    }
    case 'String': {
      const v = stringValue(n, depth);
      return v === undefined ? undefined : { kind: 'string', value: v };
    }
    case 'BinOp': {
      const [l, r] = childNodes(n);
      const op = n.children.find((c): c is SyntaxToken => c.isToken && c.kind === 'Plus');
      if (!op || !l || !r) return undefined;
      const a = constantValue(l, depth + 1);
      const b = constantValue(r, depth + 1);
      if (!a || !b) return undefined;
      if (a.kind === 'string' && b.kind === 'string') return { kind: 'string', value: a.value + b.value };
      if (a.kind === 'number' && b.kind === 'number') return { kind: 'number', value: a.value + b.value };
      return undefined;
    }
    case 'UnaryOp': {
      if (!childToken(n, 'Minus')) return undefined;
      const v = constantValue(childNode(n), depth + 1);
      return v && v.kind === 'number' ? { kind: 'number', value: -v.value } : undefined;
    }
    default:
      return undefined;
  }
}

/** The string a `String` node denotes, when all its interpolations are constant strings; else undefined. */
export function stringValue(node: SyntaxNode, depth = 0): string | undefined {
  if (node.kind !== 'String') return undefined;
  const open = node.children[0];
  const ind = !!open && open.isToken && open.kind === 'IndStringOpen';
  // Parts: raw content tokens and constant interpolations.
  const parts: { raw?: string; value?: string }[] = [];
  for (const c of node.children) {
    if (c.isToken) {
      if (c.kind === 'StringContent') parts.push({ raw: c.text });
    } else if (c.kind === 'Interpolation') {
      const v = constantValue(childNode(c), depth + 1);
      if (!v || v.kind !== 'string') return undefined;
      parts.push({ value: v.value });
    } else return undefined;
  }
  if (!ind) return parts.map((p) => (p.raw !== undefined ? unescapeString(p.raw) : p.value!)).join('');
  return indentedStringValue(parts);
}

/** Decodes the escapes of a `"..."` string's raw text (`\n`, `\r`, `\t`, `\x` -> x; CR and CRLF -> LF). */
export function unescapeString(raw: string): string {
  if (raw.indexOf('\\') < 0 && raw.indexOf('\r') < 0) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\' && i + 1 < raw.length) {
      const d = raw[++i]!;
      out += d === 'n' ? '\n' : d === 'r' ? '\r' : d === 't' ? '\t' : d;
    } else if (c === '\r') {
      out += '\n';
      if (raw[i + 1] === '\n') i++;
    } else out += c;
  }
  return out;
}

/** Nix's indentation stripping for `''...''` strings (escape tokens and interpolations end the indentation). */
function indentedStringValue(parts: { raw?: string; value?: string }[]): string {
  // Split raw tokens into "text with indentation" and escapes (which count like interpolations).
  type Piece = { text: string; indented: boolean };
  const pieces: Piece[] = [];
  for (const p of parts) {
    if (p.raw === undefined) {
      pieces.push({ text: p.value!, indented: false });
      continue;
    }
    const r = p.raw;
    if (r === "''$") pieces.push({ text: '$', indented: false });
    else if (r === "'''") pieces.push({ text: "''", indented: false });
    else if (r.startsWith("''\\")) pieces.push({ text: unescapeString('\\' + r.slice(3)), indented: false });
    else pieces.push({ text: r, indented: true });
  }
  if (pieces.length === 0) return '';
  let atStartOfLine = true;
  let minIndent = 1000000;
  let curIndent = 0;
  for (const piece of pieces) {
    if (!piece.indented) {
      if (atStartOfLine) {
        atStartOfLine = false;
        if (curIndent < minIndent) minIndent = curIndent;
      }
      continue;
    }
    for (const ch of piece.text) {
      if (atStartOfLine) {
        if (ch === ' ') curIndent++;
        else if (ch === '\n') curIndent = 0;
        else {
          atStartOfLine = false;
          if (curIndent < minIndent) minIndent = curIndent;
        }
      } else if (ch === '\n') {
        atStartOfLine = true;
        curIndent = 0;
      }
    }
  }
  atStartOfLine = true;
  let curDropped = 0;
  let out = '';
  let remaining = pieces.length;
  for (const piece of pieces) {
    if (!piece.indented) {
      atStartOfLine = false;
      curDropped = 0;
      out += piece.text;
      remaining--;
      continue;
    }
    let s2 = '';
    for (const ch of piece.text) {
      if (atStartOfLine) {
        if (ch === ' ') {
          if (curDropped++ >= minIndent) s2 += ch;
        } else if (ch === '\n') {
          curDropped = 0;
          s2 += ch;
        } else {
          atStartOfLine = false;
          curDropped = 0;
          s2 += ch;
        }
      } else {
        s2 += ch;
        if (ch === '\n') atStartOfLine = true;
      }
    }
    if (remaining === 1) {
      const p = s2.lastIndexOf('\n');
      if (p >= 0 && /^ *$/.test(s2.slice(p + 1))) s2 = s2.slice(0, p + 1);
    }
    out += s2;
    remaining--;
  }
  return out;
}

// ------------------------------------------------------------------------------------------ sets

/** One entry of an attribute set or `let`: a `Binding` (`a.b = v;`) or one name of an `Inherit`. */
export interface SetEntry {
  /** Static names of the key; undefined when a name is dynamic. */
  path: string[] | undefined;
  /** The `Binding` node, or the `Inherit` node. */
  binding: SyntaxNode;
  /** The `Attrpath` node (bindings) or the name node (inherit). */
  key: SyntaxNode;
  /** The value expression (bindings only; inherit has none written). */
  value: SyntaxNode | undefined;
  /** True for `inherit` entries. */
  inherited: boolean;
  /** For `inherit (e) names;`: the expression `e`. */
  inheritFrom?: SyntaxNode;
}

/** The entries of an `AttrSet`, `LegacyLet` or `LetIn` node, in source order. */
export function setEntries(set: SyntaxNode): SetEntry[] {
  const out: SetEntry[] = [];
  for (const c of set.children) {
    if (c.isToken) continue;
    if (c.kind === 'Binding') {
      const key = childNode(c, 'Attrpath');
      if (!key) continue;
      const nodes = childNodes(c);
      const value = nodes.length > 1 ? nodes[nodes.length - 1] : undefined;
      out.push({ path: staticAttrPath(key), binding: c, key, value, inherited: false });
    } else if (c.kind === 'Inherit') {
      const from = childNode(c, 'InheritFrom');
      const fromExpr = from ? childNode(from) : undefined;
      for (const name of childNodes(c)) {
        if (name.kind === 'InheritFrom') continue;
        const n = attrName(name);
        out.push({
          path: n === undefined ? undefined : [n],
          binding: c,
          key: name,
          value: undefined,
          inherited: true,
          inheritFrom: fromExpr,
        });
      }
    }
  }
  return out;
}

/** Is this `AttrSet` a `rec { ... }`? */
export function isRecursive(set: SyntaxNode): boolean {
  return set.kind === 'AttrSet' && !!childToken(set, 'KwRec');
}

/**
 * The attribute sets a value stands for, looking through parentheses, wrappers (`mkIf c { }`, `mkDefault`),
 * `mkMerge [ ... ]`, `let ... in`, `with ...;`, both branches of `if`, and variables bound by `let` or `rec`
 * in the same file.
 */
export function valueSets(value: SyntaxNode | undefined, depth = 0): SyntaxNode[] {
  const n = unparen(value);
  if (!n || depth > 100) return [];
  if (n.kind === 'AttrSet') return [n];
  if (n.kind === 'Ident') {
    // `system = sys;` with `let sys = { ... };` (or a `rec` sibling) in the same file.
    const name = identName(n);
    const source = name === undefined ? undefined : resolveVariable(name, n);
    if (source && (source.kind === 'let' || source.kind === 'rec') && source.value) {
      return valueSets(source.value, depth + 1);
    }
    return [];
  }
  if (n.kind === 'LetIn' || n.kind === 'With' || n.kind === 'Assert') {
    const nodes = childNodes(n);
    return valueSets(nodes[nodes.length - 1], depth + 1);
  }
  if (n.kind === 'IfElse') {
    const [, a, b] = childNodes(n);
    return [...valueSets(a, depth + 1), ...valueSets(b, depth + 1)];
  }
  const call = asCall(n);
  if (call && call.name) {
    if (call.name === 'mkMerge' && call.args.length === 1) {
      const list = unparen(call.args[0]);
      if (list && list.kind === 'List') return childNodes(list).flatMap((e) => valueSets(e, depth + 1));
      return [];
    }
    const arity = WRAPPERS.get(call.name);
    if (arity !== undefined && call.args.length === arity) return valueSets(call.args[arity - 1], depth + 1);
  }
  return [];
}

/**
 * The value bound to `path` inside a set (following nested sets: `a.b = { c = v; }` and `a = { b.c = v; }`
 * both answer `["a","b","c"]`); the first match in source order, or undefined.
 */
export function getAttr(set: SyntaxNode, path: readonly string[]): SetEntry | undefined {
  for (const entry of setEntries(set)) {
    if (!entry.path) continue;
    const k = entry.path.length;
    if (k > path.length || !entry.path.every((n, i) => n === path[i])) continue;
    if (k === path.length) return entry;
    for (const inner of valueSets(entry.value)) {
      const found = getAttr(inner, path.slice(k));
      if (found) return found;
    }
  }
  return undefined;
}

// ------------------------------------------------------------------------------------------ lambdas

export interface Formal {
  name: string;
  /** The `PatEntry` node. */
  node: SyntaxNode;
  /** The default value (`name ? default`). */
  defaultValue?: SyntaxNode;
}

export interface LambdaInfo {
  node: SyntaxNode;
  /** `x: ...` parameter name. */
  param?: string;
  /** The `Pattern` node for `{ ... }:` lambdas. */
  pattern?: SyntaxNode;
  formals: Formal[];
  ellipsis: boolean;
  /** The `@` name of a pattern. */
  bind?: string;
  /** The `{` and `}` tokens of the pattern (to insert formals). */
  openBrace?: SyntaxToken;
  closeBrace?: SyntaxToken;
  body: SyntaxNode | undefined;
}

/** Describes a `Lambda` node. */
export function lambdaInfo(lambda: SyntaxNode): LambdaInfo | undefined {
  if (lambda.kind !== 'Lambda') return undefined;
  const nodes = childNodes(lambda);
  const param = nodes[0];
  const body = nodes.length > 1 ? nodes[nodes.length - 1] : undefined;
  const info: LambdaInfo = { node: lambda, formals: [], ellipsis: false, body };
  if (!param) return info;
  if (param.kind === 'Ident') {
    info.param = identName(param);
    return info;
  }
  if (param.kind !== 'Pattern') return info;
  info.pattern = param;
  info.openBrace = childToken(param, 'LBrace');
  info.closeBrace = childToken(param, 'RBrace');
  info.ellipsis = !!childToken(param, 'Ellipsis');
  for (const c of childNodes(param)) {
    if (c.kind === 'PatEntry') {
      const parts = childNodes(c);
      const name = parts[0] ? identName(parts[0]) : undefined;
      if (name === undefined) continue;
      const formal: Formal = { name, node: c };
      if (parts[1]) formal.defaultValue = parts[1];
      info.formals.push(formal);
    } else if (c.kind === 'PatBind') {
      const id = childNode(c, 'Ident');
      if (id) info.bind = identName(id);
    }
  }
  return info;
}

/** The expression of the file, inside the root (undefined for an empty/broken file). */
export function rootExpr(root: SyntaxNode): SyntaxNode | undefined {
  return childNodes(root).find((n) => n.kind !== 'Error') ?? childNode(root);
}

/** Every application in the file whose callee's last name is `name` (`nixosSystem` finds `lib.nixosSystem`). */
export function findCalls(root: SyntaxNode, name: string): Call[] {
  const out: Call[] = [];
  walkNodes(root, (node) => {
    if (node.kind !== 'Apply') return;
    // Only the outermost Apply of a chain.
    if (node.parent && node.parent.kind === 'Apply' && childNodes(node.parent)[0] === node) return;
    const call = asCall(node);
    if (call && call.name === name) out.push(call);
  });
  return out;
}

/** The `outputs` lambda of a flake.nix (`outputs = { self, nixpkgs, ... }: ...`). */
export function flakeOutputs(root: SyntaxNode): LambdaInfo | undefined {
  const top = unparen(rootExpr(root));
  if (!top || top.kind !== 'AttrSet') return undefined;
  const entry = getAttr(top, ['outputs']);
  const value = unparen(entry?.value);
  return value && value.kind === 'Lambda' ? lambdaInfo(value) : undefined;
}

// ------------------------------------------------------------------------------------------ variables

/** Where a variable comes from. */
export interface VariableSource {
  kind: 'let' | 'argument' | 'rec' | 'with' | 'builtin' | 'unresolved';
  name: string;
  /** The binding (`let`/`rec`: the `Binding` or `Inherit` node; `argument`: the `PatEntry`, `Ident` or `PatBind`). */
  node?: SyntaxNode;
  /** The bound value (let/rec), or the argument's default. */
  value?: SyntaxNode;
  /** For `let`/`rec` entries that are themselves `inherit (e) name;`: `e`. */
  inheritFrom?: SyntaxNode;
  /** The `With` nodes in scope (an unresolved name may come from them). */
  withs?: SyntaxNode[];
}

const BUILTIN_NAMES = new Set(['true', 'false', 'null', 'builtins', 'import', 'map', 'toString', 'throw', 'abort']);

/**
 * Resolves a variable name as seen from `at` (a node inside the scope): `let` bindings, `rec` sets,
 * lambda parameters and formals, innermost first. `with` scopes are dynamic: a name not bound
 * lexically is reported as `with` when a `with` encloses `at`, else `builtin` or `unresolved`.
 */
export function resolveVariable(name: string, at: SyntaxNode): VariableSource {
  const withs: SyntaxNode[] = [];
  let child: SyntaxNode = at;
  for (let scope = at.parent; scope; child = scope, scope = scope.parent) {
    switch (scope.kind) {
      case 'LetIn':
      case 'LegacyLet': {
        const found = lookupEntries(scope, name);
        if (found) return { kind: 'let', name, ...found };
        break;
      }
      case 'AttrSet':
        // In `rec { }`, bindings see each other; `inherit x;` inside it looks outside (as in Nix).
        if (isRecursive(scope) && !(child.kind === 'Inherit' && !childNode(child, 'InheritFrom'))) {
          const found = lookupEntries(scope, name);
          if (found) return { kind: 'rec', name, ...found };
        }
        break;
      case 'Lambda': {
        const info = lambdaInfo(scope);
        if (!info || child === info.pattern) break;
        if (info.param === name) return { kind: 'argument', name, node: childNodes(scope)[0] };
        if (info.bind === name) return { kind: 'argument', name, node: childNode(info.pattern!, 'PatBind') };
        const formal = info.formals.find((f) => f.name === name);
        if (formal) {
          const src: VariableSource = { kind: 'argument', name, node: formal.node };
          if (formal.defaultValue) src.value = formal.defaultValue;
          return src;
        }
        break;
      }
      case 'With': {
        // Only the body is in the with's scope.
        const nodes = childNodes(scope);
        if (child === nodes[nodes.length - 1]) withs.push(scope);
        break;
      }
      default:
        break;
    }
  }
  if (withs.length > 0) return { kind: 'with', name, withs };
  if (BUILTIN_NAMES.has(name) || name.startsWith('__')) return { kind: 'builtin', name };
  return { kind: 'unresolved', name };
}

/**
 * The expression a variable is bound to by a `let` or `rec` binding in this file (`let x = …; in`), looking
 * outwards from `at`; undefined for arguments, `with`, `inherit` and unbound names.
 */
export function letValue(name: string, at: SyntaxNode): SyntaxNode | undefined {
  const source = resolveVariable(name, at);
  return (source.kind === 'let' || source.kind === 'rec') && !source.inheritFrom ? source.value : undefined;
}

function lookupEntries(
  scope: SyntaxNode,
  name: string,
): { node: SyntaxNode; value?: SyntaxNode; inheritFrom?: SyntaxNode } | undefined {
  for (const entry of setEntries(scope)) {
    if (!entry.path || entry.path[0] !== name) continue;
    if (entry.path.length === 1) {
      const out: { node: SyntaxNode; value?: SyntaxNode; inheritFrom?: SyntaxNode } = { node: entry.binding };
      if (entry.value) out.value = entry.value;
      if (entry.inheritFrom) out.inheritFrom = entry.inheritFrom;
      return out;
    }
    // `let a.b = 1; in a`: a is a set built from nested bindings.
    return { node: entry.binding };
  }
  return undefined;
}

// ------------------------------------------------------------------------------------------ bindings

/** One binding of an attribute path, as found by {@link collectBindings} / {@link findAttrBindings}. */
export interface AttrBinding {
  /** The full attribute path it binds (the `config.` prefix of a module removed: see `viaConfig`). */
  path: string[];
  /** The `Binding` node (`a.b = v;`) or the `Inherit` node. */
  binding: SyntaxNode;
  /** The key as written here: the `Attrpath` node, or the inherited name node. */
  key: SyntaxNode;
  keyStart: number;
  keyEnd: number;
  /** The value as written (undefined for `inherit`). */
  rawValue: SyntaxNode | undefined;
  /** The value with wrappers and parentheses peeled off (for `inherit`: the resolved source's value, if any). */
  value: SyntaxNode | undefined;
  /** Wrappers peeled off, outermost first (`mkForce`, `mkOverride 50`, `lib.mkDefault`, `mkIf c`...). */
  wrappers: Wrapper[];
  /** Reached through a `config.` prefix (`config.system.stateVersion = ...`, `config = { ... }`). */
  viaConfig: boolean;
  /** Reached through nesting (`system = { stateVersion = ...; }`), not written as one attribute path. */
  viaNested: boolean;
  /** Bound by `inherit` (`inherit stateVersion;` or `inherit (e) stateVersion;`). */
  viaInherit: boolean;
  /** For `inherit name;`, and for values that are a plain variable: where the variable comes from. */
  source?: VariableSource;
  /**
   * The value the variable stands for, when `source` found one in this file (the `let`/`rec` value or the
   * argument's default), wrappers peeled: `constantValue(b.resolvedValue ?? b.value)` reads through
   * `system.stateVersion = sv;` with `let sv = "24.05";`.
   */
  resolvedValue?: SyntaxNode;
  /** For `inherit (e) name;`: the expression `e`. */
  inheritFrom?: SyntaxNode;
  /** The attribute set node that holds this binding. */
  set: SyntaxNode;
}

export interface BindingSearchOptions {
  /**
   * Also search attribute sets that are not the file's module (list elements such as flake.nix's
   * `modules = [ { ... } ]`, function arguments, ...). Default false: only the file's top-level set(s),
   * looking through lambdas, `let`, `with`, parentheses, `mkIf`/`mkMerge` and the like.
   */
  anywhere?: boolean;
  /** Treat `config.` at a module's top level as the module's own config (default true). */
  configPrefix?: boolean;
}

/**
 * Every binding reachable from the file's module set(s) (or, with `anywhere`, from every set that does not
 * sit under a known attribute path), with its full attribute path. Intermediate bindings are listed too
 * (`system = { ... };` is listed with path `["system"]` before its content).
 */
export function collectBindings(root: SyntaxNode, options: BindingSearchOptions = {}): AttrBinding[] {
  const out: AttrBinding[] = [];
  const visited = new Set<SyntaxNode>();
  const configPrefix = options.configPrefix ?? true;

  // A set can be reached under several paths (`a = s; b = s;` with `let s = { ... };`): key by both.
  const visitedAt = new Set<string>();
  const ids = new Map<SyntaxNode, number>();
  const visitSet = (set: SyntaxNode, prefix: string[], viaConfig: boolean, moduleTop: boolean, depth: number): void => {
    if (depth > 100) return;
    let id = ids.get(set);
    if (id === undefined) ids.set(set, (id = ids.size));
    const key = `${id}\u0000${prefix.join('\u0000')}`;
    if (visitedAt.has(key)) return;
    visitedAt.add(key);
    visited.add(set);
    for (const entry of setEntries(set)) {
      if (!entry.path) continue;
      let path = [...prefix, ...entry.path];
      let config = viaConfig;
      if (moduleTop && configPrefix && entry.path[0] === 'config') {
        path = entry.path.slice(1);
        config = true;
      }
      const viaNested = prefix.length > 0;
      const keyName = entry.inherited ? entry.key : entry.key;
      if (path.length > 0) {
        const b: AttrBinding = {
          path,
          binding: entry.binding,
          key: keyName,
          keyStart: keyName.start,
          keyEnd: keyName.end,
          rawValue: entry.value,
          value: undefined,
          wrappers: [],
          viaConfig: config,
          viaNested,
          viaInherit: entry.inherited,
          set,
        };
        if (entry.inherited) {
          if (entry.inheritFrom) b.inheritFrom = entry.inheritFrom;
          else {
            b.source = resolveVariable(entry.path[0]!, entry.binding);
            if (b.source.value) b.value = b.resolvedValue = peelWrappers(b.source.value).value;
          }
        } else if (entry.value) {
          const peeled = peelWrappers(entry.value);
          b.value = peeled.value;
          b.wrappers = peeled.wrappers;
          if (peeled.value.kind === 'Ident') {
            const name = identName(peeled.value);
            if (name !== undefined) {
              b.source = resolveVariable(name, peeled.value);
              if (b.source.value) b.resolvedValue = peelWrappers(b.source.value).value;
            }
          }
        }
        out.push(b);
      }
      if (entry.value) {
        const top = moduleTop && path.length === 0;
        for (const inner of valueSets(entry.value)) visitSet(inner, path, config, top, depth + 1);
      }
    }
  };

  for (const set of moduleSets(root)) visitSet(set, [], false, true, 0);
  if (options.anywhere) {
    walkNodes(root, (node) => {
      if (node.kind === 'AttrSet' && !visited.has(node) && !isValueOfBinding(node)) {
        visitSet(node, [], false, true, 0);
      }
    });
  }
  return out;
}

/** Every binding of `path` (see {@link collectBindings} for what is searched), in source order. */
export function findAttrBindings(
  root: SyntaxNode,
  path: readonly string[],
  options: BindingSearchOptions = {},
): AttrBinding[] {
  return collectBindings(root, options)
    .filter((b) => b.path.length === path.length && b.path.every((n, i) => n === path[i]))
    .sort((a, b) => a.keyStart - b.keyStart);
}

/** The top-level attribute set(s) of a module file, through lambdas, `let`, `with`, `mkIf`, `mkMerge`... */
export function moduleSets(root: SyntaxNode): SyntaxNode[] {
  let n = unparen(rootExpr(root));
  for (let i = 0; n && i < 100; i++) {
    if (n.kind === 'Lambda') n = unparen(lambdaInfo(n)?.body);
    else break;
  }
  return valueSets(n);
}

/** Is this set (looking up through parentheses, wrappers, let/with) the value of a binding, with a known path? */
function isValueOfBinding(set: SyntaxNode): boolean {
  let child: SyntaxNode = set;
  for (let p = set.parent; p; child = p, p = p.parent) {
    switch (p.kind) {
      case 'Binding':
        // A `let` binding names a variable, not an attribute path.
        return child !== childNode(p, 'Attrpath') && p.parent?.kind !== 'LetIn';
      case 'Paren':
      case 'LetIn':
      case 'With':
      case 'Assert':
      case 'IfElse':
        continue;
      case 'List': {
        // mkMerge [ ... ] keeps the path.
        const call = p.parent ? asCall(p.parent.kind === 'Paren' ? p.parent.parent : p.parent) : undefined;
        if (call && call.name === 'mkMerge') continue;
        return false;
      }
      case 'Apply': {
        const call = asCall(outermostApply(p));
        if (call && call.name && (WRAPPERS.has(call.name) || call.name === 'mkMerge')) {
          p = outermostApply(p);
          continue;
        }
        return false;
      }
      default:
        return false;
    }
  }
  return false;
}

function outermostApply(node: SyntaxNode): SyntaxNode {
  let n = node;
  while (n.parent && n.parent.kind === 'Apply' && childNodes(n.parent)[0] === n) n = n.parent;
  return n;
}

/** Where a new binding of `path` would go: the deepest existing set on the way, and what is left to write. */
export interface InsertionPoint {
  /** The attribute set to add the binding to. */
  set: SyntaxNode;
  /** The part of `path` that set already stands for (e.g. `["system"]` for `system = { ... };`). */
  prefix: string[];
  /** The part to write in the new binding (e.g. `["nixos", "label"]`). */
  rest: string[];
}

/**
 * The set to insert a binding of `path` into: the value set of the longest existing binding that is a proper
 * prefix of `path` (`system = { ... };` for `system.nixos.label`), else the file's first module set. Undefined
 * when the file has no module set (with `anywhere`, any set not under a known path counts).
 */
export function findInsertionSet(
  root: SyntaxNode,
  path: readonly string[],
  options: BindingSearchOptions = {},
): InsertionPoint | undefined {
  let best: InsertionPoint | undefined;
  for (const b of collectBindings(root, options)) {
    if (b.path.length >= path.length || !b.path.every((n, i) => n === path[i])) continue;
    const sets = valueSets(b.rawValue);
    const set = sets.find((s) => s.kind === 'AttrSet');
    if (!set || (best && best.prefix.length >= b.path.length)) continue;
    best = { set, prefix: b.path, rest: path.slice(b.path.length) };
  }
  if (best) return best;
  const top = moduleSets(root)[0];
  return top ? { set: top, prefix: [], rest: [...path] } : undefined;
}

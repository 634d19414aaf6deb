/**
 * What one NixOS/home-manager module says, read from its syntax tree without evaluating it: the
 * option definitions it makes (attribute paths flattened through nested sets, `config = …`,
 * `mkIf`, `mkMerge`, `mkDefault`/`mkForce`/`mkOverride`) and the modules it imports.
 */
import * as path from 'node:path';
import {
  attrPathNames,
  callParts,
  childNodes,
  dottedName,
  hasToken,
  identName,
  letValue,
  peelPriority,
  stringValue,
  unparen,
  type LineIndex,
  type SyntaxNode,
} from '../nix';

export interface ParsedFile {
  path: string;
  text: string;
  root: SyntaxNode;
  lines: LineIndex;
  /** Number of syntax errors; a file with errors is still analysed as far as it goes. */
  errorCount: number;
}

export interface OptionDef {
  /** Static names; undefined where the name is computed (`${name}`). */
  path: (string | undefined)[];
  /** The names joined with dots, `?` for a computed name. */
  key: string;
  /** The value with priority wrappers peeled. */
  value: SyntaxNode;
  /** The node naming the option (Attrpath, or the Ident of an `inherit`). */
  name: SyntaxNode;
  /** The Binding or Inherit node. */
  binding: SyntaxNode;
  /** The attribute set holding the binding. */
  container: SyntaxNode;
  /** How many names of `path` the binding's own Attrpath spells (the rest comes from enclosing sets). */
  ownNames: number;
  file: ParsedFile;
  /** Under `mkIf`, `optionalAttrs` or similar. */
  conditional: boolean;
  /** True when the value is an attribute set that was also walked into. */
  isSet: boolean;
}

export type ModuleRef =
  | { kind: 'file'; path: string; node: SyntaxNode }
  | { kind: 'inline'; node: SyntaxNode; file: ParsedFile }
  | { kind: 'external'; name: string; node: SyntaxNode }
  | { kind: 'unknown'; node: SyntaxNode; why: string };

export interface ModuleInfo {
  file: ParsedFile;
  node: SyntaxNode;
  defs: OptionDef[];
  imports: ModuleRef[];
  /** The attribute set the module's configuration lives in (for inserting a definition), when plain. */
  body?: SyntaxNode;
  /** The argument pattern `{ config, pkgs, ... }`, when the module is a function with one. */
  pattern?: SyntaxNode;
  formals: Set<string>;
}

const CONDITIONAL = new Set(['mkIf', 'optionalAttrs', 'mkIfOr']);

/** The module expression with its function head, `let`, `with` and `assert` peeled off. */
function moduleBody(expr: SyntaxNode): { body: SyntaxNode; pattern?: SyntaxNode; formals: Set<string> } {
  let n = unparen(expr.kind === 'Root' ? (childNodes(expr).find((c) => c.kind !== 'Error') ?? expr) : expr);
  let pattern: SyntaxNode | undefined;
  const formals = new Set<string>();
  for (let i = 0; i < 32; i++) {
    if (n.kind === 'Lambda') {
      const [param, body] = childNodes(n);
      if (!body) break;
      if (param?.kind === 'Pattern' && !pattern) {
        pattern = param;
        for (const e of childNodes(param)) if (e.kind === 'PatEntry') formals.add(identName(childNodes(e)[0]) ?? '');
      }
      n = unparen(body);
    } else if (n.kind === 'LetIn' || n.kind === 'With' || n.kind === 'Assert') {
      const parts = childNodes(n);
      const body = parts[parts.length - 1];
      if (!body) break;
      n = unparen(body);
    } else break;
  }
  return pattern ? { body: n, pattern, formals } : { body: n, formals };
}

/** Analyses the module expression `expr` of `file` (the whole file, or an inline module). */
export function analyzeModule(file: ParsedFile, expr: SyntaxNode): ModuleInfo {
  const { body, pattern, formals } = moduleBody(expr);
  const info: ModuleInfo = { file, node: expr, defs: [], imports: [], formals };
  if (pattern) info.pattern = pattern;
  const dir = path.dirname(file.path);
  const top = unwrapConfig(body);
  if (top.node.kind !== 'AttrSet') {
    if (top.node.kind === 'Apply' || top.node.kind === 'List') walkValue(info, top.node, [], top.conditional, top.node);
    return info;
  }
  info.body = top.node;
  const bindings = childNodes(top.node).filter((b) => b.kind === 'Binding' || b.kind === 'Inherit');
  const explicit = bindings.some((b) => {
    const first = b.kind === 'Binding' ? attrPathNames(childNodes(b)[0]!)[0] : undefined;
    return first === 'config' || first === 'options';
  });
  for (const b of bindings) {
    if (b.kind !== 'Binding') {
      if (!explicit) walkBinding(info, b, [], top.conditional, top.node);
      continue;
    }
    const [attrpath, value] = childNodes(b);
    if (!attrpath || !value) continue;
    const names = attrPathNames(attrpath);
    const first = names[0];
    if (first === 'imports' && names.length === 1) {
      info.imports.push(...moduleRefs(value, file, dir));
      continue;
    }
    if (explicit) {
      if (first === 'config') {
        if (names.length === 1) {
          const inner = unwrapConfig(value);
          walkValue(info, inner.node, [], inner.conditional || top.conditional, inner.node);
          if (inner.node.kind === 'AttrSet' && !info.body) info.body = inner.node;
          else if (inner.node.kind === 'AttrSet') info.body = inner.node;
        } else walkBinding(info, b, [], top.conditional, top.node, 1);
      }
      continue;
    }
    if (
      first === 'options' ||
      first === 'meta' ||
      first === 'disabledModules' ||
      first === '_file' ||
      first === 'key'
    ) {
      continue;
    }
    walkBinding(info, b, [], top.conditional, top.node);
  }
  return info;
}

/** Peels `mkIf c x`, `mkMerge [ … ]` (first element only, for the body), priorities and parentheses. */
function unwrapConfig(node: SyntaxNode): { node: SyntaxNode; conditional: boolean } {
  let n = peelPriority(node);
  let conditional = false;
  for (let i = 0; i < 16 && n.kind === 'Apply'; i++) {
    const { args, name } = callParts(n);
    if (name && CONDITIONAL.has(name) && args.length === 2) {
      conditional = true;
      n = peelPriority(args[1]!);
    } else break;
  }
  return { node: n, conditional };
}

function walkBinding(
  info: ModuleInfo,
  b: SyntaxNode,
  prefix: (string | undefined)[],
  conditional: boolean,
  container: SyntaxNode,
  skipNames = 0,
): void {
  if (b.kind === 'Inherit') {
    for (const id of childNodes(b)) {
      if (id.kind !== 'Ident') continue;
      const p = [...prefix, identName(id)];
      info.defs.push(makeDef(info, p, id, id, b, container, 1, conditional, false));
    }
    return;
  }
  const [attrpath, value] = childNodes(b);
  if (!attrpath || !value) return;
  const names = attrPathNames(attrpath).slice(skipNames);
  walkValue(info, value, [...prefix, ...names], conditional, container, attrpath, b, names.length);
}

function walkValue(
  info: ModuleInfo,
  value: SyntaxNode,
  p: (string | undefined)[],
  conditional: boolean,
  container: SyntaxNode,
  name?: SyntaxNode,
  binding?: SyntaxNode,
  ownNames = 0,
  depth = 0,
): void {
  if (depth > 64) return;
  let v = peelPriority(value);
  let cond = conditional;
  for (let i = 0; i < 8 && v.kind === 'Apply'; i++) {
    const { args, name: fname } = callParts(v);
    if (fname && CONDITIONAL.has(fname) && args.length === 2) {
      cond = true;
      v = peelPriority(args[1]!);
    } else if (fname === 'mkMerge' && args.length === 1) {
      const list = unparen(args[0]!);
      if (name && binding) info.defs.push(makeDef(info, p, v, name, binding, container, ownNames, cond, true));
      if (list.kind === 'List')
        for (const el of childNodes(list)) walkValue(info, el, p, cond, container, name, binding, ownNames, depth + 1);
      return;
    } else break;
  }
  if (v.kind === 'AttrSet' && !hasToken(v, 'KwRec')) {
    if (name && binding) info.defs.push(makeDef(info, p, v, name, binding, container, ownNames, cond, true));
    for (const b of childNodes(v)) {
      if (b.kind === 'Binding' || b.kind === 'Inherit') walkBinding(info, b, p, cond, v);
    }
    return;
  }
  if (v.kind === 'AttrSet') {
    // rec { … }: walk it too (its bindings are option definitions all the same).
    if (name && binding) info.defs.push(makeDef(info, p, v, name, binding, container, ownNames, cond, true));
    for (const b of childNodes(v)) if (b.kind === 'Binding' || b.kind === 'Inherit') walkBinding(info, b, p, cond, v);
    return;
  }
  if (name && binding) info.defs.push(makeDef(info, p, v, name, binding, container, ownNames, cond, false));
}

function makeDef(
  info: ModuleInfo,
  p: (string | undefined)[],
  value: SyntaxNode,
  name: SyntaxNode,
  binding: SyntaxNode,
  container: SyntaxNode,
  ownNames: number,
  conditional: boolean,
  isSet: boolean,
): OptionDef {
  return {
    path: p,
    key: p.map((x) => x ?? '?').join('.'),
    value,
    name,
    binding,
    container,
    ownNames,
    file: info.file,
    conditional,
    isSet,
  };
}

/** The modules named by an `imports`/`modules` value: a list, `a ++ b`, a let-bound name, `optional(s)`. */
export function moduleRefs(value: SyntaxNode, file: ParsedFile, dir: string, depth = 0): ModuleRef[] {
  const v = peelPriority(value);
  if (depth > 16) return [{ kind: 'unknown', node: v, why: 'too deep' }];
  if (v.kind === 'List') return childNodes(v).flatMap((el) => moduleRef(el, file, dir, depth));
  if (v.kind === 'BinOp' && hasToken(v, 'Concat')) {
    const [a, b] = childNodes(v);
    return [...(a ? moduleRefs(a, file, dir, depth + 1) : []), ...(b ? moduleRefs(b, file, dir, depth + 1) : [])];
  }
  if (v.kind === 'Ident') {
    const name = identName(v);
    const bound = name ? letValue(name, v) : undefined;
    if (bound) return moduleRefs(bound, file, dir, depth + 1);
    return [{ kind: 'unknown', node: v, why: `the list ${name ?? ''} is not known here` }];
  }
  if (v.kind === 'Apply') {
    const { args, name: fname } = callParts(v);
    if (fname === 'optionals' && args.length === 2) return moduleRefs(args[1]!, file, dir, depth + 1);
    if (fname === 'optional' && args.length === 2) return moduleRef(args[1]!, file, dir, depth + 1);
  }
  return [{ kind: 'unknown', node: v, why: 'a computed list of modules' }];
}

export function moduleRef(el: SyntaxNode, file: ParsedFile, dir: string, depth = 0): ModuleRef[] {
  const v = unparen(el);
  if (depth > 16) return [{ kind: 'unknown', node: v, why: 'too deep' }];
  switch (v.kind) {
    case 'Path': {
      const p = staticPath(v, file.text);
      if (p === undefined) return [{ kind: 'unknown', node: v, why: 'a path built with ${…}' }];
      if (p.startsWith('<')) return [{ kind: 'external', name: p, node: v }];
      return [{ kind: 'file', path: path.resolve(dir, p.replace(/^~(?=\/)/, process.env.HOME ?? '~')), node: v }];
    }
    case 'AttrSet':
    case 'Lambda':
      return [{ kind: 'inline', node: v, file }];
    case 'Apply': {
      const { args, name: fname } = callParts(v);
      if ((fname === 'import' || fname === 'callPackage') && args.length >= 1) {
        const target = unparen(args[0]!);
        if (target.kind === 'Path') return moduleRef(target, file, dir, depth + 1);
      }
      if (fname === 'optional' && args.length === 2) return moduleRef(args[1]!, file, dir, depth + 1);
      if (fname === 'mkIf' && args.length === 2) return moduleRef(args[1]!, file, dir, depth + 1);
      return [{ kind: 'unknown', node: v, why: 'a module computed by a function call' }];
    }
    case 'BinOp': {
      const [a] = childNodes(v);
      const head = a ? dottedName(a) : undefined;
      if (head === 'modulesPath' || head?.startsWith('inputs.') || head?.endsWith('.outPath')) {
        return [{ kind: 'external', name: file.text.slice(v.start, v.end), node: v }];
      }
      if (a && a.kind === 'Path') return [{ kind: 'unknown', node: v, why: 'a path built at evaluation' }];
      return [{ kind: 'unknown', node: v, why: 'a computed module' }];
    }
    case 'String': {
      const s = stringValue(v);
      // `"${builtins.fetchGit ./.}/main.nix"`, `"${inputs.x}/module.nix"`: a module lint cannot read (installer
      // images through "${modulesPath}/installer/…" are recognised by their text)
      if (s === undefined)
        return [{ kind: 'unknown', node: v, why: `the computed import ${file.text.slice(v.start, v.end)}` }];
      return [{ kind: 'file', path: path.resolve(dir, s), node: v }];
    }
    case 'Select':
    case 'Ident': {
      const name = dottedName(v);
      if (name === undefined) return [{ kind: 'unknown', node: v, why: 'a computed module' }];
      if (v.kind === 'Ident') {
        const bound = letValue(name, v);
        if (bound) return moduleRef(bound, file, dir, depth + 1);
        return [{ kind: 'unknown', node: v, why: `${name} is not known here` }];
      }
      const head = name.split('.')[0]!;
      // The flake's own modules (`self.nixosModules.x`, `inputs.self…`) are the user's code, not followed here.
      if ((head === 'self' && !name.startsWith('self.inputs.')) || name.startsWith('inputs.self.')) {
        return [{ kind: 'unknown', node: v, why: `${name} is defined elsewhere in the flake` }];
      }
      const bound = letValue(head, v);
      if (bound) {
        // A let-bound attribute set of modules: `mods.common` -> look it up.
        const target = selectFromLet(bound, name.split('.').slice(1));
        if (target) return moduleRef(target, file, dir, depth + 1);
      }
      // A module another flake exports (`home-manager.nixosModules.home-manager`, `inputs.disko.nixosModules.disko`);
      // anything else (`config.configurations.nixos.ami.module`) is computed where we do not look.
      if (
        /^(?:nixos|darwin|home|homeManager|hm|flake)Modules$/.test(
          name.split('.').find((p) => p.endsWith('Modules')) ?? '',
        )
      ) {
        return [{ kind: 'external', name, node: v }];
      }
      return [{ kind: 'unknown', node: v, why: `${name} is computed elsewhere` }];
    }
    default:
      return [{ kind: 'unknown', node: v, why: 'a computed module' }];
  }
}

function selectFromLet(value: SyntaxNode, names: string[]): SyntaxNode | undefined {
  let n = unparen(value);
  for (const name of names) {
    if (n.kind !== 'AttrSet') return undefined;
    let found: SyntaxNode | undefined;
    for (const b of childNodes(n)) {
      if (b.kind !== 'Binding') continue;
      const [ap, val] = childNodes(b);
      const ns = ap ? attrPathNames(ap) : [];
      if (ns.length === 1 && ns[0] === name) found = val;
    }
    if (!found) return undefined;
    n = unparen(found);
  }
  return n;
}

/** The text of a path literal without interpolation (`./a/b.nix`, `<nixpkgs>`); undefined otherwise. */
function staticPath(node: SyntaxNode, _text: string): string | undefined {
  let out = '';
  for (const c of node.children) {
    if (!c.isToken) return undefined;
    if (c.kind === 'Path' || c.kind === 'PathContent' || c.kind === 'SearchPath') out += c.text;
    else if (c.kind === 'DollarCurly') return undefined;
  }
  return out === '' ? undefined : out;
}

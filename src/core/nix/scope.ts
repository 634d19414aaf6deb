/**
 * Scope checks: the errors Nix reports while parsing that are not about syntax.
 *
 * `nix-instantiate --parse` rejects a file with an undefined variable (`error: undefined variable 'x'`,
 * unless a `with` is in scope) or an attribute defined twice (`error: attribute 'a' already defined`).
 * Those are scope errors, not syntax errors: a file with them still has a perfectly good tree. So
 * {@link parse} does not report them (diagnostics while typing would flicker on every half-written name),
 * and this module does, on demand:
 *
 * - duplicate attributes, with the merging rules of current Nix by default: `{ a.b = 1; a.c = 2; }` and
 *   `{ a.b.c = 1; a = { b.d = 2; }; }` are fine (Nix >= 2.25 merges nested sets; Nix 2.8 rejects the second,
 *   `merge: 'nix-2.8'` reproduces that);
 * - undefined variables, against Nix's global names (`true`, `import`, `builtins`, `map`, ... and the
 *   `__`-prefixed builtins; by default any `__name` is accepted since newer Nix versions add builtins).
 */
import type { SyntaxNode } from './syntax';
import { childNode, childNodes } from './tree';
import { attrName, identName, isRecursive, setEntries, unparen } from './query';

export interface ScopeError {
  kind: 'undefined-variable' | 'duplicate-attribute';
  message: string;
  start: number;
  end: number;
}

export interface ScopeOptions {
  /** Global variable names (default: Nix 2.8's unprefixed globals; see {@link NIX_GLOBALS}). */
  globals?: ReadonlySet<string>;
  /** Accept any `__name` as a global (default true). */
  anyDunder?: boolean;
  /** How `a = { ... }` merges with other bindings of `a` (default `recursive`, as current Nix). */
  merge?: 'recursive' | 'nix-2.8';
  /** Report undefined variables (default true). */
  undefinedVariables?: boolean;
  /** Report duplicate attributes (default true). */
  duplicateAttributes?: boolean;
}

/** The names Nix 2.8 binds in the global scope without a `__` prefix. */
export const NIX_GLOBALS: ReadonlySet<string> = new Set([
  'abort',
  'baseNameOf',
  'builtins',
  'derivation',
  'derivationStrict',
  'dirOf',
  'false',
  'fetchGit',
  'fetchMercurial',
  'fetchTarball',
  'fetchTree',
  'fromTOML',
  'import',
  'isNull',
  'map',
  'null',
  'placeholder',
  'removeAttrs',
  'scopedImport',
  'throw',
  'toString',
  'true',
]);

/** Scope errors of a parsed file (see the module comment), sorted by offset. */
export function checkScope(root: SyntaxNode, options: ScopeOptions = {}): ScopeError[] {
  const errors: ScopeError[] = [];
  if (options.duplicateAttributes ?? true) checkDuplicates(root, options.merge ?? 'recursive', errors);
  if (options.undefinedVariables ?? true) {
    checkVariables(root, options.globals ?? NIX_GLOBALS, options.anyDunder ?? true, errors);
  }
  return errors.sort((a, b) => a.start - b.start);
}

// ------------------------------------------------------------------------------------------ duplicates

interface AttrDef {
  /** The model of the value when it is an attribute set (literal or implied by a path). */
  model: AttrsModel | undefined;
  inherited: boolean;
}

interface AttrsModel {
  attrs: Map<string, AttrDef>;
}

function checkDuplicates(root: SyntaxNode, merge: 'recursive' | 'nix-2.8', errors: ScopeError[]): void {
  const models = new Map<SyntaxNode, AttrsModel>();

  const dup = (name: SyntaxNode, path: string): void => {
    errors.push({
      kind: 'duplicate-attribute',
      message: `attribute '${path}' already defined`,
      start: name.start,
      end: name.end,
    });
  };

  /** Merges `from` into `into` (the value of `a = { ... }` into an existing `a`). */
  const mergeInto = (into: AttrsModel, from: AttrsModel, at: SyntaxNode, path: string, nested: boolean): void => {
    for (const [name, def] of from.attrs) {
      const existing = into.attrs.get(name);
      if (!existing) {
        into.attrs.set(name, def);
        continue;
      }
      if (nested && existing.model && def.model && !existing.inherited && !def.inherited) {
        mergeInto(existing.model, def.model, at, `${path}.${name}`, nested);
      } else dup(at, `${path}.${name}`);
    }
  };

  const modelOf = (set: SyntaxNode): AttrsModel => {
    const known = models.get(set);
    if (known) return known;
    const model: AttrsModel = { attrs: new Map() };
    models.set(set, model);
    for (const entry of setEntries(set)) {
      if (entry.inherited) {
        const name = entry.path?.[0];
        if (name === undefined) continue;
        if (model.attrs.has(name)) dup(entry.key, name);
        else model.attrs.set(name, { model: undefined, inherited: true });
        continue;
      }
      const names = childNodes(entry.key).map(attrName);
      let target: AttrsModel | undefined = model;
      const shown: string[] = [];
      for (let i = 0; i < names.length && target; i++) {
        const name = names[i];
        shown.push(name ?? '"${...}"');
        if (name === undefined) {
          // A dynamic name: Nix checks nothing below it at parse time.
          target = undefined;
          break;
        }
        const last = i === names.length - 1;
        const existing: AttrDef | undefined = target.attrs.get(name);
        if (!last) {
          if (existing) {
            if (existing.inherited || !existing.model) {
              dup(entry.key, shown.join('.'));
              target = undefined;
            } else target = existing.model;
          } else {
            const nested: AttrsModel = { attrs: new Map() };
            target.attrs.set(name, { model: nested, inherited: false });
            target = nested;
          }
          continue;
        }
        const value = unparen(entry.value);
        const valueModel = value && value.kind === 'AttrSet' ? modelOf(value) : undefined;
        if (existing) {
          if (valueModel && existing.model && !existing.inherited) {
            mergeInto(existing.model, valueModel, entry.key, shown.join('.'), merge === 'recursive');
          } else dup(entry.key, shown.join('.'));
        } else target.attrs.set(name, { model: valueModel, inherited: false });
      }
    }
    return model;
  };

  const stack: SyntaxNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.kind === 'AttrSet' || node.kind === 'LetIn' || node.kind === 'LegacyLet') modelOf(node);
    for (let i = node.children.length - 1; i >= 0; i--) {
      const c = node.children[i]!;
      if (!c.isToken) stack.push(c);
    }
  }
}

// ------------------------------------------------------------------------------------------ variables

interface Env {
  names: ReadonlySet<string>;
  parent: Env | undefined;
  /** A `with` scope: any name may come from it. */
  isWith: boolean;
}

function checkVariables(
  root: SyntaxNode,
  globals: ReadonlySet<string>,
  anyDunder: boolean,
  errors: ScopeError[],
): void {
  const defined = (name: string, env: Env | undefined): boolean => {
    for (let e = env; e; e = e.parent) {
      if (e.isWith || e.names.has(name)) return true;
    }
    return globals.has(name) || name === '__curPos' || (anyDunder && name.startsWith('__'));
  };

  const tasks: { node: SyntaxNode; env: Env | undefined }[] = [{ node: root, env: undefined }];
  const push = (node: SyntaxNode | undefined, env: Env | undefined): void => {
    if (node) tasks.push({ node, env });
  };
  /** Dynamic parts of attribute names (`"${x}"`, `${x}`) are expressions. */
  const pushNames = (names: SyntaxNode[], env: Env | undefined): void => {
    for (const name of names) if (name.kind !== 'Ident') push(name, env);
  };
  const bindingNames = (set: SyntaxNode): Set<string> => {
    const names = new Set<string>();
    for (const entry of setEntries(set)) if (entry.path) names.add(entry.path[0]!);
    return names;
  };
  /** The bindings of a set or let: values in `inner`, plain `inherit` names looked up in `outer`. */
  const pushBindings = (set: SyntaxNode, inner: Env | undefined, outer: Env | undefined): void => {
    for (const c of childNodes(set)) {
      if (c.kind === 'Binding') {
        const [key, value] = childNodes(c);
        if (key) pushNames(childNodes(key), inner);
        push(value, inner);
      } else if (c.kind === 'Inherit') {
        const from = childNode(c, 'InheritFrom');
        if (from) {
          push(childNode(from), inner);
          pushNames(
            childNodes(c).filter((n) => n.kind !== 'InheritFrom'),
            inner,
          );
        } else {
          for (const name of childNodes(c)) {
            // `inherit a "b" ${"c"};` inherits the variables a, b and c.
            if (name.kind === 'Error') continue;
            checkName(name, outer);
          }
        }
      } else push(c, inner);
    }
  };
  const checkName = (ident: SyntaxNode, env: Env | undefined): void => {
    const name = ident.kind === 'Ident' ? identName(ident) : attrName(ident);
    if (name !== undefined && !defined(name, env)) {
      errors.push({
        kind: 'undefined-variable',
        message: `undefined variable '${name}'`,
        start: ident.start,
        end: ident.end,
      });
    }
  };

  while (tasks.length > 0) {
    const { node, env } = tasks.pop()!;
    switch (node.kind) {
      case 'Ident':
        checkName(node, env);
        break;
      case 'Lambda': {
        const [param, body] = childNodes(node);
        const names = new Set<string>();
        if (param?.kind === 'Ident') {
          const n = identName(param);
          if (n !== undefined) names.add(n);
        } else if (param?.kind === 'Pattern') {
          for (const part of childNodes(param)) {
            const id = childNode(part, 'Ident');
            const n = id ? identName(id) : undefined;
            if (n !== undefined) names.add(n);
          }
        }
        const inner: Env = { names, parent: env, isWith: false };
        if (param?.kind === 'Pattern') {
          for (const entry of childNodes(param)) {
            if (entry.kind === 'PatEntry') push(childNodes(entry)[1], inner);
            else if (entry.kind === 'Error') push(entry, inner);
          }
        }
        push(body, inner);
        break;
      }
      case 'LetIn': {
        const inner: Env = { names: bindingNames(node), parent: env, isWith: false };
        pushBindings(node, inner, env);
        break;
      }
      case 'LegacyLet': {
        const inner: Env = { names: bindingNames(node), parent: env, isWith: false };
        pushBindings(node, inner, env);
        break;
      }
      case 'AttrSet': {
        if (isRecursive(node)) {
          const inner: Env = { names: bindingNames(node), parent: env, isWith: false };
          pushBindings(node, inner, env);
        } else pushBindings(node, env, env);
        break;
      }
      case 'With': {
        const [scope, body] = childNodes(node);
        push(scope, env);
        push(body, { names: new Set(), parent: env, isWith: true });
        break;
      }
      case 'Select':
      case 'HasAttr': {
        for (const c of childNodes(node)) {
          if (c.kind === 'Attrpath') pushNames(childNodes(c), env);
          else push(c, env);
        }
        break;
      }
      case 'Attrpath':
        pushNames(childNodes(node), env);
        break;
      default:
        for (const c of childNodes(node)) push(c, env);
    }
  }
}

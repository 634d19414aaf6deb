/**
 * A small, bounded, lazy interpreter for the part of Nix that wires hosts together in a flake: `let`, functions,
 * attribute sets, `import`, `builtins.readDir`, and the handful of library functions people build host sets with
 * (`genAttrs`, `mapAttrs`, `listToAttrs`, `filterAttrs`, `foldl'`, flake-parts' `mkFlake` and `withSystem`, ...).
 * Anything else (derivations, nixpkgs itself, the NixOS module system) is "opaque": a value we know the name of
 * but not the content, so `inputs.nixpkgs.lib.nixosSystem` is still recognised as nixpkgs' `nixosSystem`.
 *
 * It never throws to its caller and does bounded work: every step spends fuel; when the fuel is gone the
 * remaining values are unknown (and say so).
 */
import * as path from 'node:path';
import {
  childNode,
  childNodes,
  childToken,
  identName,
  lambdaInfo,
  parse,
  rootExpr,
  setEntries,
  staticAttrPath,
  unescapeString,
  type SyntaxNode,
} from '../nix';

/** A parsed file as the interpreter needs it. */
export interface SourceFile {
  path: string;
  text: string;
  root: SyntaxNode;
}

/** What the interpreter may read: parsed files and directory listings (both from a fixed set of files). */
export interface SourceTree {
  file(absPath: string): SourceFile | undefined;
  /** Entries of a directory: name -> "directory" | "regular"; undefined when unknown. */
  readDir(absPath: string): Map<string, 'directory' | 'regular'> | undefined;
}

export interface Thunk {
  expr?: SyntaxNode;
  env?: Env;
  file?: SourceFile;
  value?: Value;
  forcing?: boolean;
}

export interface Env {
  vars: Map<string, Thunk>;
  parent?: Env;
  /** The scope of a `with e;` (its attributes are looked up after every lexical name). */
  withScope?: Thunk;
}

/** The builder call behind a host: `nixosSystem { ... }` and friends. */
export interface SystemValue {
  t: 'system';
  builder: string;
  /** The flake input whose lib provides the builder (`nixpkgs` in `inputs.nixpkgs.lib.nixosSystem`), if known. */
  input?: string;
  /** The argument (an attribute set, normally). */
  arg: Thunk;
  /** The application node and its file. */
  call: SyntaxNode;
  file: SourceFile;
  /** Where in the argument the modules shared by every host are (`modules`, or a framework's own option). */
  modulesKey?: string[];
  /** The framework that builds the host from files named by its layout (snowfall-lib). */
  framework?: string;
}

export type Value =
  | { t: 'unknown'; why: string }
  | { t: 'str'; v: string }
  | { t: 'path'; v: string }
  | { t: 'bool'; v: boolean }
  | { t: 'int'; v: number }
  | { t: 'null' }
  | { t: 'list'; items: Thunk[] }
  | { t: 'attrs'; attrs: Map<string, Thunk>; partial?: string; node?: SyntaxNode; file?: SourceFile; rest?: Value }
  | { t: 'lambda'; node: SyntaxNode; env: Env; file: SourceFile }
  | { t: 'prim'; name: string; args: Thunk[]; input?: string }
  /** Several definitions of one flake-parts option (`flake.modules.nixos.x` written in several files). */
  | { t: 'group'; items: Thunk[] }
  /** Known by name only: a flake input, `lib`, `pkgs`, `config`... `inputs` marks the set of all inputs. */
  | { t: 'opaque'; name: string; input?: string; inputs?: boolean }
  | SystemValue;

/** Library functions understood here, by their last name, with their number of arguments. */
const PRIMS: ReadonlyMap<string, number> = new Map([
  ['nixosSystem', 1],
  ['darwinSystem', 1],
  ['homeManagerConfiguration', 1],
  ['import', 1],
  ['readDir', 1],
  ['pathExists', 1],
  ['genAttrs', 2],
  ["genAttrs'", 2],
  ['mapAttrs', 2],
  ["mapAttrs'", 2],
  ['filterAttrs', 2],
  ['listToAttrs', 1],
  ['nameValuePair', 2],
  ['map', 2],
  ['filter', 2],
  ['attrNames', 1],
  ['attrValues', 1],
  ['removeAttrs', 2],
  ['optional', 2],
  ['optionals', 2],
  ['optionalAttrs', 2],
  ['recursiveUpdate', 2],
  ["foldl'", 3],
  ['foldl', 3],
  ['foldr', 3],
  ['concatMap', 2],
  ['concatMapAttrs', 2],
  ['mergeAttrsList', 1],
  ['concatLists', 1],
  ['hasSuffix', 2],
  ['hasPrefix', 2],
  ['removeSuffix', 2],
  ['removePrefix', 2],
  ['baseNameOf', 1],
  ['toString', 1],
  ['withSystem', 2],
  ['mkFlake', 2],
  ['pipe', 2],
  ['flip', 3],
  ['const', 2],
  ['id', 1],
  ['fix', 1],
  ['mapAttrsToList', 2],
  ['listFilesRecursive', 1],
  ['elem', 2],
  ['getAttr', 2],
  ['hasAttr', 2],
  ['head', 1],
  ['length', 1],
  ['isAttrs', 1],
  ['isFunction', 1],
  ['isPath', 1],
  ['isString', 1],
  ['isList', 1],
  ['eachDefaultSystem', 1],
  ['eachSystem', 2],
  ['makeExtensible', 1],
  ['importApply', 2],
  ['flatten', 1],
  ['mkMerge', 1],
  ['snowfallFlake', 2],
  ['concatStringsSep', 2],
]);

/**
 * The key standing for attributes whose names are computed from values not known here (`"${host.name}" = ...`,
 * `mapAttrs f hostsFromAnEncryptedFile`): one entry holding what every such attribute is built by. Host discovery
 * reports it as a host with a computed name: pin can still edit the builder it reaches (one edit per helper).
 */
export const COMPUTED_NAME = '\u0000computed';

/** The system a per-system output is evaluated for (`eachDefaultSystem`): hosts are the same for every system. */
const PER_SYSTEM = 'x86_64-linux';

export const SYSTEM_BUILDERS: ReadonlySet<string> = new Set([
  'nixosSystem',
  'darwinSystem',
  'homeManagerConfiguration',
]);

class OutOfFuel extends Error {}

const unknown = (why: string): Value => ({ t: 'unknown', why });
const done = (value: Value): Thunk => ({ value });

export class Interpreter {
  private fuel: number;
  private depth = 0;
  private readonly imports = new Map<string, Thunk>();
  /** Every builder application met while evaluating (for hosts the outputs do not name statically). */
  readonly systems: SystemValue[] = [];
  exhausted = false;
  /** The flake's directory (what frameworks' layouts are read below). */
  flakeDir?: string;

  constructor(
    readonly tree: SourceTree,
    fuel = 400_000,
  ) {
    this.fuel = fuel;
  }

  /** Forces a thunk to a value (weak head normal form); never throws. */
  force(thunk: Thunk): Value {
    try {
      return this.forceInner(thunk);
    } catch (e) {
      if (e instanceof OutOfFuel) {
        this.exhausted = true;
        return unknown('too much to evaluate');
      }
      if (e instanceof RangeError) return unknown('nested too deeply');
      throw e;
    }
  }

  /** A thunk of a file's expression (shared by every `import` of it). */
  importFile(absPath: string): Thunk {
    let p = absPath;
    let file = this.tree.file(p);
    if (!file && !p.endsWith('.nix')) {
      p = path.join(p, 'default.nix');
      file = this.tree.file(p);
    }
    const hit = this.imports.get(p);
    if (hit) return hit;
    const thunk: Thunk = file
      ? { expr: rootExpr(file.root) ?? file.root, env: { vars: new Map() }, file }
      : done(unknown(`cannot read ${absPath}`));
    this.imports.set(p, thunk);
    return thunk;
  }

  thunk(expr: SyntaxNode, env: Env, file: SourceFile): Thunk {
    return { expr, env, file };
  }

  private forceInner(thunk: Thunk): Value {
    if (thunk.value) return thunk.value;
    if (thunk.forcing) return unknown('a value defined in terms of itself');
    if (!thunk.expr || !thunk.env || !thunk.file) return unknown('nothing to evaluate');
    thunk.forcing = true;
    this.depth++;
    try {
      if (this.depth > 400) return unknown('nested too deeply');
      const v = this.evalExpr(thunk.expr, thunk.env, thunk.file);
      thunk.value = v;
      return v;
    } finally {
      this.depth--;
      thunk.forcing = false;
    }
  }

  /** A value as a path or string, as `"${x}"` and path functions see it (a set with `outPath`: the flake's self). */
  private coerce(v: Value): Value {
    if (v.t === 'attrs') {
      const out = v.attrs.get('outPath');
      if (out) return this.force(out);
    }
    return v;
  }

  /** An absolute path from a path value or a string holding one (`"${self}/hosts"`). */
  private absPath(v: Value): string | undefined {
    const c = this.coerce(v);
    if (c.t === 'path') return c.v;
    if (c.t === 'str' && c.v.startsWith('/')) return path.resolve(c.v);
    return undefined;
  }

  private spend(): void {
    if (--this.fuel < 0) throw new OutOfFuel();
  }

  // ---------------------------------------------------------------------------------------- expressions

  evalExpr(node: SyntaxNode, env: Env, file: SourceFile): Value {
    this.spend();
    switch (node.kind) {
      case 'Paren':
      case 'Root': {
        const inner = node.kind === 'Root' ? rootExpr(node) : childNode(node);
        return inner ? this.evalExpr(inner, env, file) : unknown('empty');
      }
      case 'Literal': {
        const t = node.children.find((c) => c.isToken && c.kind !== 'Whitespace' && c.kind !== 'Comment');
        if (t && t.isToken && t.kind === 'Integer') return { t: 'int', v: Number(t.text) };
        if (t && t.isToken && t.kind === 'Uri') return { t: 'str', v: t.text };
        return unknown('a number');
      }
      case 'Ident': {
        const name = identName(node) ?? '';
        return this.force(this.lookup(name, env));
      }
      case 'String':
        return this.evalString(node, env, file);
      case 'Path':
        return this.evalPath(node, env, file);
      case 'List':
        return { t: 'list', items: childNodes(node).map((e) => this.thunk(e, env, file)) };
      case 'AttrSet':
        return this.evalAttrSet(node, env, file);
      case 'LetIn':
      case 'LegacyLet': {
        const scope: Env = { vars: new Map(), parent: env };
        this.bindEntries(node, scope, env, file, scope.vars);
        if (node.kind === 'LegacyLet') {
          const body = scope.vars.get('body');
          return body ? this.force(body) : unknown('let without body');
        }
        const nodes = childNodes(node);
        const body = nodes[nodes.length - 1];
        return body ? this.evalExpr(body, scope, file) : unknown('let without body');
      }
      case 'With': {
        const [scopeExpr, body] = childNodes(node);
        if (!scopeExpr || !body) return unknown('with');
        return this.evalExpr(body, { vars: new Map(), parent: env, withScope: this.thunk(scopeExpr, env, file) }, file);
      }
      case 'Assert': {
        const nodes = childNodes(node);
        const body = nodes[nodes.length - 1];
        return body ? this.evalExpr(body, env, file) : unknown('assert');
      }
      case 'IfElse': {
        const [c, a, b] = childNodes(node);
        if (!c || !a || !b) return unknown('if');
        const cond = this.evalExpr(c, env, file);
        if (cond.t === 'bool') return this.evalExpr(cond.v ? a : b, env, file);
        return unknown('a condition that is not known here');
      }
      case 'Lambda':
        return { t: 'lambda', node, env, file };
      case 'Apply': {
        const [fn, arg] = childNodes(node);
        if (!fn || !arg) return unknown('application');
        return this.apply(this.evalExpr(fn, env, file), this.thunk(arg, env, file), node, file);
      }
      case 'Select':
        return this.evalSelect(node, env, file);
      case 'HasAttr': {
        const [base, attrpath] = childNodes(node);
        const names = attrpath ? staticAttrPath(attrpath) : undefined;
        if (!base || !names) return unknown('?');
        let v = this.evalExpr(base, env, file);
        for (const n of names) {
          if (v.t !== 'attrs') return v.t === 'opaque' || v.t === 'unknown' ? unknown('?') : { t: 'bool', v: false };
          const next = v.attrs.get(n);
          if (!next) return v.partial ? unknown('?') : { t: 'bool', v: false };
          v = this.force(next);
        }
        return { t: 'bool', v: true };
      }
      case 'UnaryOp': {
        const operand = childNode(node);
        const v = operand ? this.evalExpr(operand, env, file) : unknown('');
        if (childToken(node, 'Not')) return v.t === 'bool' ? { t: 'bool', v: !v.v } : unknown('!');
        return v.t === 'int' ? { t: 'int', v: -v.v } : unknown('-');
      }
      case 'BinOp':
        return this.evalBinOp(node, env, file);
      default:
        return unknown(`a ${node.kind}`);
    }
  }

  /** The thunk of a lexically bound variable (`let`, `rec`, function argument), without looking into `with`. */
  lexical(name: string, env: Env): Thunk | undefined {
    for (let e: Env | undefined = env; e; e = e.parent) {
      const hit = e.vars.get(name);
      if (hit) return hit;
    }
    return undefined;
  }

  lookup(name: string, env: Env): Thunk {
    for (let e: Env | undefined = env; e; e = e.parent) {
      const hit = e.vars.get(name);
      if (hit) return hit;
    }
    for (let e: Env | undefined = env; e; e = e.parent) {
      if (!e.withScope) continue;
      const scope = this.force(e.withScope);
      if (scope.t === 'attrs') {
        const hit = scope.attrs.get(name);
        if (hit) return hit;
      } else if (scope.t === 'opaque') return done(this.selectOpaque(scope, name));
    }
    switch (name) {
      case 'true':
        return done({ t: 'bool', v: true });
      case 'false':
        return done({ t: 'bool', v: false });
      case 'null':
        return done({ t: 'null' });
      default:
        break;
    }
    if (PRIMS.has(name) && (name === 'import' || name === 'map' || name === 'toString' || name === 'baseNameOf'))
      return done({ t: 'prim', name, args: [] });
    if (name === 'removeAttrs') return done({ t: 'prim', name, args: [] });
    return done({ t: 'opaque', name });
  }

  private selectOpaque(base: Extract<Value, { t: 'opaque' }>, name: string): Value {
    if (base.inputs) return { t: 'opaque', name: `inputs.${name}`, input: name };
    // `nixpkgs.lib.extend (final: prev: { ... })` is still nixpkgs' lib
    if (name === 'extend' && base.name.endsWith('lib')) return { t: 'prim', name: 'const', args: [done(base)] };
    if (PRIMS.has(name))
      return base.input ? { t: 'prim', name, args: [], input: base.input } : { t: 'prim', name, args: [] };
    return base.input
      ? { t: 'opaque', name: `${base.name}.${name}`, input: base.input }
      : { t: 'opaque', name: `${base.name}.${name}` };
  }

  /** Selects one attribute of a value. */
  select(v: Value, name: string): Value {
    if (v.t === 'attrs') {
      const hit = v.attrs.get(name);
      if (hit) return this.force(hit);
      if (v.rest) return this.select(v.rest, name);
      return unknown(v.partial ? `${name} (in a set only partly known: ${v.partial})` : `no attribute ${name}`);
    }
    if (v.t === 'opaque') return this.selectOpaque(v, name);
    if (v.t === 'unknown') return v;
    return unknown(`${name} of a ${v.t}`);
  }

  private evalSelect(node: SyntaxNode, env: Env, file: SourceFile): Value {
    const nodes = childNodes(node);
    const [base, attrpath] = nodes;
    const fallback = childToken(node, 'KwOr') ? nodes[2] : undefined;
    if (!base || !attrpath) return unknown('select');
    let v = this.evalExpr(base, env, file);
    for (const part of childNodes(attrpath)) {
      const name = this.attrKey(part, env, file);
      if (name === undefined) return unknown('a computed attribute name');
      if (fallback && v.t === 'attrs' && !v.attrs.has(name) && !v.partial && !v.rest)
        return this.evalExpr(fallback, env, file);
      v = this.select(v, name);
    }
    if (fallback && v.t === 'unknown' && v.why.startsWith('no attribute')) return this.evalExpr(fallback, env, file);
    return v;
  }

  /** A name in an attribute path: static, or an interpolation that evaluates to a string. */
  private attrKey(part: SyntaxNode, env: Env, file: SourceFile): string | undefined {
    if (part.kind === 'Ident') return identName(part);
    if (part.kind === 'String') {
      const v = this.evalString(part, env, file);
      return v.t === 'str' ? v.v : undefined;
    }
    if (part.kind === 'Interpolation') {
      const inner = childNode(part);
      const v = inner ? this.evalExpr(inner, env, file) : undefined;
      return v && v.t === 'str' ? v.v : undefined;
    }
    return undefined;
  }

  private evalString(node: SyntaxNode, env: Env, file: SourceFile): Value {
    const ind = node.children[0]?.isToken && node.children[0].kind === 'IndStringOpen';
    let out = '';
    for (const c of node.children) {
      if (c.isToken) {
        if (c.kind === 'StringContent') out += ind ? c.text : unescapeString(c.text);
      } else if (c.kind === 'Interpolation') {
        const inner = childNode(c);
        const v = inner ? this.coerce(this.evalExpr(inner, env, file)) : unknown('');
        if (v.t === 'str' || v.t === 'path') out += v.v;
        else if (v.t === 'int') out += String(v.v);
        else return unknown('a string built from values not known here');
      }
    }
    return { t: 'str', v: ind ? out.replace(/^\n/, '') : out };
  }

  private evalPath(node: SyntaxNode, env: Env, file: SourceFile): Value {
    let text = '';
    for (const c of node.children) {
      if (c.isToken) {
        if (c.kind === 'SearchPath') return { t: 'opaque', name: c.text };
        if (c.kind === 'Path' || c.kind === 'PathContent') text += c.text;
      } else if (c.kind === 'Interpolation') {
        const inner = childNode(c);
        const v = inner ? this.coerce(this.evalExpr(inner, env, file)) : unknown('');
        if (v.t !== 'str' && v.t !== 'path') return unknown('a path built from values not known here');
        text += v.v;
      }
    }
    if (text.startsWith('~')) return unknown('a path in the home directory');
    return { t: 'path', v: path.resolve(path.dirname(file.path), text) };
  }

  private evalAttrSet(node: SyntaxNode, env: Env, file: SourceFile): Value {
    const attrs = new Map<string, Thunk>();
    const rec = !!childToken(node, 'KwRec');
    const scope: Env = rec ? { vars: attrs, parent: env } : env;
    const partial = this.bindEntries(node, scope, env, file, attrs);
    const v: Value = { t: 'attrs', attrs, node, file };
    if (partial) v.partial = partial;
    return v;
  }

  /**
   * Binds the entries of a set or `let` into `target`: values are evaluated in `valueEnv`, `inherit x;` looks in
   * `inheritEnv` (the scope around the set or `let`). Nested paths (`a.b = 1; a.c = 2;`) build nested sets. Returns why the set is partial, if it is.
   */
  private bindEntries(
    node: SyntaxNode,
    valueEnv: Env,
    inheritEnv: Env,
    file: SourceFile,
    target: Map<string, Thunk>,
  ): string | undefined {
    let partial: string | undefined;
    for (const entry of setEntries(node)) {
      if (entry.inherited) {
        const name = entry.path?.[0];
        if (name === undefined) continue;
        if (entry.inheritFrom) {
          const from = this.thunk(entry.inheritFrom, valueEnv, file);
          target.set(name, this.lazySelect(from, name));
        } else {
          // `inherit x;` looks outside the set or let it is written in (the variable's own thunk when lexical, so
          // the value keeps the place it is written)
          target.set(
            name,
            this.lexical(name, inheritEnv) ?? this.deferred(() => this.force(this.lookup(name, inheritEnv))),
          );
        }
        continue;
      }
      if (!entry.value) continue;
      const names: string[] = [];
      for (const part of childNodes(entry.key)) {
        const n = this.attrKey(part, valueEnv, file);
        if (n === undefined) break;
        names.push(n);
      }
      if (names.length !== childNodes(entry.key).length) {
        partial = 'an attribute name computed from values not known here';
        // `nixosConfigurations."${host}" = nixosSystem { ... }`: what such an attribute is built by is still known
        if (names.length === childNodes(entry.key).length - 1 && names.length > 0)
          this.bindPath(target, [...names, COMPUTED_NAME], this.thunk(entry.value, valueEnv, file));
        continue;
      }
      this.bindPath(target, names, this.thunk(entry.value, valueEnv, file));
    }
    return partial;
  }

  /** A thunk selecting `name` from `from` when forced. */
  private lazySelect(from: Thunk, name: string): Thunk {
    return this.deferred(() => this.select(this.force(from), name));
  }

  private bindPath(target: Map<string, Thunk>, names: string[], value: Thunk): void {
    const [head, ...rest] = names;
    if (head === undefined) return;
    if (rest.length === 0) {
      const existing = target.get(head);
      if (existing) {
        // `a = { x = 1; }; a.y = 2;`: merge the two sets
        target.set(
          head,
          this.deferred(() => this.update(this.force(existing), this.force(value))),
        );
      } else target.set(head, value);
      return;
    }
    let inner = target.get(head);
    let innerValue = inner?.value;
    if (!inner || !innerValue || innerValue.t !== 'attrs' || innerValue.node) {
      const attrs = new Map<string, Thunk>();
      const fresh: Value = { t: 'attrs', attrs };
      if (inner) {
        // an existing `a = { ... };` merged with `a.b = ...;`
        const previous = inner;
        const prevValue = this.force(previous);
        if (prevValue.t === 'attrs') for (const [k, t] of prevValue.attrs) attrs.set(k, t);
        else fresh.partial = 'a set merged with a value not known here';
      }
      inner = done(fresh);
      innerValue = fresh;
      target.set(head, inner);
    }
    this.bindPath(innerValue.attrs, rest, value);
  }

  /** `a // b`. */
  update(a: Value, b: Value): Value {
    if (a.t === 'attrs' && b.t === 'attrs') {
      const attrs = new Map(a.attrs);
      for (const [k, t] of b.attrs) attrs.set(k, t);
      const v: Value = { t: 'attrs', attrs };
      const partial = a.partial ?? b.partial;
      if (partial) v.partial = partial;
      if (b.rest || a.rest) v.rest = (b.rest ?? a.rest)!;
      return v;
    }
    // `nixpkgs.lib // home-manager.lib // { … }`: known attributes first, the rest looked up in the library (whose
    // functions are recognised by name, with the first library's input)
    if (a.t === 'opaque' && b.t === 'opaque') return { ...a, name: `${a.name} // ${b.name}` };
    if (a.t === 'attrs' && b.t === 'opaque') return { ...a, attrs: new Map(a.attrs), rest: b };
    if (a.t === 'opaque' && b.t === 'attrs')
      return { ...b, attrs: new Map(b.attrs), rest: b.rest ? this.update(a, b.rest) : a };
    if (a.t === 'attrs')
      return {
        ...a,
        attrs: new Map(a.attrs),
        partial: b.t === 'unknown' ? b.why : 'merged with a value not known here',
      };
    if (b.t === 'attrs')
      return {
        ...b,
        attrs: new Map(b.attrs),
        partial: a.t === 'unknown' ? a.why : 'merged with a value not known here',
      };
    return unknown('// of values not known here');
  }

  private evalBinOp(node: SyntaxNode, env: Env, file: SourceFile): Value {
    const [l, r] = childNodes(node);
    const op = node.children.find((c) => c.isToken && c.kind !== 'Whitespace' && c.kind !== 'Comment');
    if (!l || !r || !op || !op.isToken) return unknown('operator');
    switch (op.kind) {
      case 'Update':
        return this.update(this.evalExpr(l, env, file), this.evalExpr(r, env, file));
      case 'Concat': {
        const a = this.evalExpr(l, env, file);
        const b = this.evalExpr(r, env, file);
        if (a.t === 'list' && b.t === 'list') return { t: 'list', items: [...a.items, ...b.items] };
        // `[ ./common.nix ] ++ host.extraModules`: the known elements, and one that says what is not known
        const part = (v: Value): Thunk[] =>
          v.t === 'list' ? v.items : [done(unknown(`elements of a list not known here (${describe(v)})`))];
        if (a.t === 'list' || b.t === 'list') return { t: 'list', items: [...part(a), ...part(b)] };
        return unknown('++ of lists not known here');
      }
      case 'Plus': {
        const a = this.coerce(this.evalExpr(l, env, file));
        const b = this.coerce(this.evalExpr(r, env, file));
        if (a.t === 'path' && b.t === 'str') return { t: 'path', v: path.resolve(a.v + b.v) };
        if (a.t === 'str' && (b.t === 'str' || b.t === 'path')) return { t: 'str', v: a.v + b.v };
        if (a.t === 'int' && b.t === 'int') return { t: 'int', v: a.v + b.v };
        return unknown('+ of values not known here');
      }
      case 'Eq':
      case 'NotEq': {
        const a = this.evalExpr(l, env, file);
        const b = this.evalExpr(r, env, file);
        const eq = scalarEquals(a, b);
        if (eq === undefined) return unknown('== of values not known here');
        return { t: 'bool', v: op.kind === 'Eq' ? eq : !eq };
      }
      case 'And':
      case 'Or': {
        const a = this.evalExpr(l, env, file);
        if (a.t !== 'bool') return unknown('&& / || of values not known here');
        if (op.kind === 'And' && !a.v) return a;
        if (op.kind === 'Or' && a.v) return a;
        return this.evalExpr(r, env, file);
      }
      case 'PipeRight':
        return this.apply(this.evalExpr(r, env, file), this.thunk(l, env, file), node, file);
      case 'PipeLeft':
        return this.apply(this.evalExpr(l, env, file), this.thunk(r, env, file), node, file);
      default:
        return unknown('an operator not followed here');
    }
  }

  // ---------------------------------------------------------------------------------------- application

  apply(fn: Value, arg: Thunk, call: SyntaxNode, file: SourceFile): Value {
    this.spend();
    if (fn.t === 'lambda') return this.applyLambda(fn, arg);
    if (fn.t === 'prim' && fn.name === 'mkFlake' && fn.input === 'snowfall-lib' && fn.args.length === 0)
      return this.snowfall(undefined, arg, call, file);
    if (fn.t === 'prim') {
      const args = [...fn.args, arg];
      const arity = PRIMS.get(fn.name) ?? 1;
      if (args.length < arity) return { ...fn, args };
      return this.applyPrim(fn.name, args, fn.input, call, file);
    }
    if (fn.t === 'attrs' && fn.attrs.has('__functor')) {
      const functor = this.force(fn.attrs.get('__functor')!);
      return this.apply(this.apply(functor, done(fn), call, file), arg, call, file);
    }
    if (fn.t === 'unknown') return fn;
    if (fn.t === 'opaque' && /(^|\.)import-tree$/.test(fn.name)) return this.importTree(this.force(arg));
    // snowfall-lib: `(inputs.snowfall-lib.mkLib { src = ./.; ... }).mkFlake { ... }`
    if (fn.t === 'opaque' && fn.input === 'snowfall-lib' && /\.mkLib$/.test(fn.name))
      return {
        t: 'attrs',
        attrs: new Map([['mkFlake', done({ t: 'prim', name: 'snowfallFlake', args: [arg], input: 'nixpkgs' })]]),
        rest: { t: 'opaque', name: 'lib', input: 'nixpkgs' },
      };
    return unknown(`a call of ${fn.t === 'opaque' ? fn.name : `a ${fn.t}`}`);
  }

  applyLambda(fn: Extract<Value, { t: 'lambda' }>, arg: Thunk): Value {
    const info = lambdaInfo(fn.node);
    if (!info || !info.body) return unknown('a function without body');
    const scope: Env = { vars: new Map(), parent: fn.env };
    if (info.param !== undefined) scope.vars.set(info.param, arg);
    if (info.pattern) {
      if (info.bind) scope.vars.set(info.bind, arg);
      const argValue = this.force(arg);
      for (const formal of info.formals) {
        let t: Thunk | undefined;
        if (argValue.t === 'attrs') {
          t = argValue.attrs.get(formal.name);
          if (!t && argValue.rest) t = done(this.select(argValue.rest, formal.name));
        } else if (argValue.t === 'opaque') t = done(this.selectOpaque(argValue, formal.name));
        if (!t && formal.defaultValue) t = this.thunk(formal.defaultValue, scope, fn.file);
        scope.vars.set(formal.name, t ?? done(unknown(`the argument ${formal.name} is not known here`)));
      }
    }
    return this.evalExpr(info.body, scope, fn.file);
  }

  private call(fn: Value, ...args: Thunk[]): Value {
    let v = fn;
    for (const a of args) v = this.apply(v, a, syntheticCall, syntheticFile);
    return v;
  }

  private applyPrim(name: string, args: Thunk[], input: string | undefined, call: SyntaxNode, file: SourceFile): Value {
    const arg = (i: number): Value => this.force(args[i]!);
    switch (name) {
      case 'nixosSystem':
      case 'darwinSystem':
      case 'homeManagerConfiguration': {
        const system: SystemValue = { t: 'system', builder: name, arg: args[0]!, call, file };
        if (input) system.input = input;
        this.systems.push(system);
        return system;
      }
      case 'import': {
        const target = arg(0);
        const abs = this.absPath(target);
        if (abs) return this.force(this.importFile(abs));
        if (target.t === 'opaque')
          return { t: 'opaque', name: `import ${target.name}`, ...(target.input ? { input: target.input } : {}) };
        return unknown('an import of a path not known here');
      }
      case 'readDir': {
        const dir = this.absPath(arg(0));
        if (!dir) return unknown('readDir of a path not known here');
        const entries = this.tree.readDir(dir);
        if (!entries) return unknown(`cannot list ${dir}`);
        const attrs = new Map<string, Thunk>();
        for (const [k, kind] of [...entries].sort()) attrs.set(k, done({ t: 'str', v: kind }));
        return { t: 'attrs', attrs };
      }
      case 'listFilesRecursive': {
        const start = this.absPath(arg(0));
        if (!start) return unknown('listFilesRecursive of a path not known here');
        const out: Thunk[] = [];
        const walk = (d: string, depth: number): void => {
          const entries = this.tree.readDir(d);
          if (!entries || depth > 20) return;
          for (const [k, kind] of [...entries].sort()) {
            if (kind === 'directory') walk(path.join(d, k), depth + 1);
            else out.push(done({ t: 'path', v: path.join(d, k) }));
          }
        };
        walk(start, 0);
        return { t: 'list', items: out };
      }
      case 'pathExists': {
        const p = this.absPath(arg(0));
        if (!p) return unknown('pathExists');
        if (this.tree.file(p)) return { t: 'bool', v: true };
        return { t: 'bool', v: this.tree.readDir(p) !== undefined };
      }
      case 'genAttrs': {
        const names = arg(0);
        if (names.t !== 'list') return unknown('genAttrs over a list not known here');
        const f = arg(1);
        const attrs = new Map<string, Thunk>();
        for (const item of names.items) {
          const n = this.force(item);
          if (n.t !== 'str') return unknown('genAttrs over names not known here');
          attrs.set(
            n.v,
            this.deferred(() => this.call(f, done(n))),
          );
        }
        return { t: 'attrs', attrs };
      }
      case "genAttrs'": {
        const items = arg(0);
        if (items.t !== 'list') return unknown("genAttrs' over a list not known here");
        const f = arg(1);
        return this.pairsToAttrs(items.items.map((item) => this.call(f, item)));
      }
      case 'mapAttrs': {
        const f = arg(0);
        const set = arg(1);
        if (set.t !== 'attrs') {
          // a host list the flake computes from what is not here (an encrypted file, a framework): every
          // attribute is still built by `f`
          const why = `mapAttrs over a set not known here (${describe(set)})`;
          const each = this.deferred(() =>
            this.call(f, done(unknown('a name computed by the flake')), done(unknown('a value computed by the flake'))),
          );
          return { t: 'attrs', attrs: new Map([[COMPUTED_NAME, each]]), partial: why };
        }
        const attrs = new Map<string, Thunk>();
        for (const [k, t] of set.attrs)
          attrs.set(
            k,
            this.deferred(() => this.call(f, this.nameOf(k), t)),
          );
        const out: Value = { t: 'attrs', attrs };
        if (set.partial) out.partial = set.partial;
        return out;
      }
      case "mapAttrs'": {
        const f = arg(0);
        const set = arg(1);
        if (set.t !== 'attrs') return unknown("mapAttrs' over a set not known here");
        return this.pairsToAttrs([...set.attrs].map(([k, t]) => this.call(f, this.nameOf(k), t)));
      }
      case 'concatMapAttrs': {
        const f = arg(0);
        const set = arg(1);
        if (set.t !== 'attrs') return unknown('concatMapAttrs over a set not known here');
        let out: Value = { t: 'attrs', attrs: new Map() };
        for (const [k, t] of set.attrs) out = this.update(out, this.call(f, done({ t: 'str', v: k }), t));
        return out;
      }
      case 'filterAttrs': {
        const pred = arg(0);
        const set = arg(1);
        if (set.t !== 'attrs') return set.t === 'unknown' ? set : unknown('filterAttrs over a set not known here');
        const attrs = new Map<string, Thunk>();
        let partial = set.partial;
        for (const [k, t] of set.attrs) {
          if (k === COMPUTED_NAME) {
            // some of them are kept: all are built alike
            attrs.set(k, t);
            continue;
          }
          const keep = this.call(pred, done({ t: 'str', v: k }), t);
          if (keep.t === 'bool') {
            if (keep.v) attrs.set(k, t);
          } else {
            partial = `a filter not known here (${keep.t === 'unknown' ? keep.why : keep.t})`;
          }
        }
        const out: Value = { t: 'attrs', attrs };
        if (partial) out.partial = partial;
        return out;
      }
      case 'listToAttrs': {
        const list = arg(0);
        if (list.t !== 'list') return unknown('listToAttrs of a list not known here');
        return this.pairsToAttrs(list.items.map((i) => this.force(i)));
      }
      case 'nameValuePair':
        return {
          t: 'attrs',
          attrs: new Map([
            ['name', args[0]!],
            ['value', args[1]!],
          ]),
        };
      case 'map':
      case 'concatMap': {
        const f = arg(0);
        const list = arg(1);
        if (list.t !== 'list') return unknown(`${name} over a list not known here`);
        if (name === 'map') return { t: 'list', items: list.items.map((i) => this.deferred(() => this.call(f, i))) };
        const items: Thunk[] = [];
        for (const i of list.items) {
          const v = this.call(f, i);
          if (v.t !== 'list') return unknown('concatMap of values not known here');
          items.push(...v.items);
        }
        return { t: 'list', items };
      }
      case 'filter': {
        const pred = arg(0);
        const list = arg(1);
        if (list.t !== 'list') return unknown('filter over a list not known here');
        const items: Thunk[] = [];
        for (const i of list.items) {
          const keep = this.call(pred, i);
          if (keep.t !== 'bool') return unknown('a filter not known here');
          if (keep.v) items.push(i);
        }
        return { t: 'list', items };
      }
      case 'attrNames':
      case 'attrValues': {
        const set = arg(0);
        if (set.t !== 'attrs' || set.partial) return unknown(`${name} of a set not known here`);
        const keys = [...set.attrs.keys()].sort();
        return {
          t: 'list',
          items: keys.map((k) => (name === 'attrNames' ? done({ t: 'str', v: k }) : set.attrs.get(k)!)),
        };
      }
      case 'mapAttrsToList': {
        const f = arg(0);
        const set = arg(1);
        if (set.t !== 'attrs' || set.partial) return unknown('mapAttrsToList of a set not known here');
        const keys = [...set.attrs.keys()].sort();
        return {
          t: 'list',
          items: keys.map((k) => this.deferred(() => this.call(f, done({ t: 'str', v: k }), set.attrs.get(k)!))),
        };
      }
      case 'removeAttrs': {
        const set = arg(0);
        const names = arg(1);
        if (set.t !== 'attrs' || names.t !== 'list') return unknown('removeAttrs');
        const attrs = new Map(set.attrs);
        for (const n of names.items) {
          const v = this.force(n);
          if (v.t === 'str') attrs.delete(v.v);
        }
        return { ...set, attrs };
      }
      case 'optional':
      case 'optionals':
      case 'optionalAttrs': {
        const cond = arg(0);
        if (cond.t !== 'bool') return unknown(`${name} with a condition not known here`);
        if (name === 'optional') return { t: 'list', items: cond.v ? [args[1]!] : [] };
        if (!cond.v) return name === 'optionals' ? { t: 'list', items: [] } : { t: 'attrs', attrs: new Map() };
        return arg(1);
      }
      case 'recursiveUpdate':
        return this.update(arg(0), arg(1));
      // the module system's `mkMerge [ a b ]` (flake-parts `flake.nixosConfigurations = lib.mkMerge [ ... ]`): a // b
      case 'mkMerge':
      case 'mergeAttrsList': {
        const list = arg(0);
        if (list.t !== 'list') return unknown('mergeAttrsList');
        let out: Value = { t: 'attrs', attrs: new Map() };
        for (const i of list.items) out = this.update(out, this.force(i));
        return out;
      }
      case 'concatLists': {
        const list = arg(0);
        if (list.t !== 'list') return unknown('concatLists');
        const items: Thunk[] = [];
        for (const i of list.items) {
          const v = this.force(i);
          if (v.t !== 'list') return unknown('concatLists');
          items.push(...v.items);
        }
        return { t: 'list', items };
      }
      case "foldl'":
      case 'foldl':
      case 'foldr': {
        const op = arg(0);
        const list = arg(2);
        if (list.t !== 'list') return unknown(`${name} over a list not known here`);
        let acc: Thunk = args[1]!;
        if (name === 'foldr') {
          for (let i = list.items.length - 1; i >= 0; i--) acc = done(this.call(op, list.items[i]!, acc));
        } else for (const item of list.items) acc = done(this.call(op, acc, item));
        return this.force(acc);
      }
      case 'hasSuffix':
      case 'hasPrefix':
      case 'removeSuffix':
      case 'removePrefix': {
        const a = arg(0);
        const s = arg(1);
        if (a.t !== 'str' || (s.t !== 'str' && s.t !== 'path')) return unknown(name);
        if (name === 'hasSuffix') return { t: 'bool', v: s.v.endsWith(a.v) };
        if (name === 'hasPrefix') return { t: 'bool', v: s.v.startsWith(a.v) };
        if (name === 'removeSuffix')
          return { t: 'str', v: s.v.endsWith(a.v) ? s.v.slice(0, s.v.length - a.v.length) : s.v };
        return { t: 'str', v: s.v.startsWith(a.v) ? s.v.slice(a.v.length) : s.v };
      }
      case 'baseNameOf': {
        const p = this.coerce(arg(0));
        return p.t === 'str' || p.t === 'path' ? { t: 'str', v: path.basename(p.v) } : unknown('baseNameOf');
      }
      case 'toString': {
        const p = this.coerce(arg(0));
        if (p.t === 'str' || p.t === 'path') return { t: 'str', v: p.v };
        if (p.t === 'int') return { t: 'str', v: String(p.v) };
        return unknown('toString');
      }
      case 'elem': {
        const x = arg(0);
        const list = arg(1);
        if (list.t !== 'list') return unknown('elem');
        for (const i of list.items) {
          const eq = scalarEquals(x, this.force(i));
          if (eq === undefined) return unknown('elem');
          if (eq) return { t: 'bool', v: true };
        }
        return { t: 'bool', v: false };
      }
      case 'getAttr': {
        const n = arg(0);
        return n.t === 'str' ? this.select(arg(1), n.v) : unknown('getAttr');
      }
      case 'hasAttr': {
        const n = arg(0);
        const set = arg(1);
        if (n.t !== 'str' || set.t !== 'attrs') return unknown('hasAttr');
        if (set.attrs.has(n.v)) return { t: 'bool', v: true };
        return set.partial ? unknown('hasAttr') : { t: 'bool', v: false };
      }
      case 'head': {
        const list = arg(0);
        return list.t === 'list' && list.items[0] ? this.force(list.items[0]) : unknown('head');
      }
      case 'length': {
        const list = arg(0);
        return list.t === 'list' ? { t: 'int', v: list.items.length } : unknown('length');
      }
      case 'isAttrs':
      case 'isFunction':
      case 'isPath':
      case 'isString':
      case 'isList': {
        const v = arg(0);
        if (v.t === 'unknown' || v.t === 'opaque') return unknown(name);
        const kind = { isAttrs: 'attrs', isFunction: 'lambda', isPath: 'path', isString: 'str', isList: 'list' }[name];
        if (name === 'isFunction' && v.t === 'prim') return { t: 'bool', v: true };
        if (name === 'isAttrs' && v.t === 'system') return { t: 'bool', v: true };
        return { t: 'bool', v: v.t === kind };
      }
      case 'pipe': {
        const fns = arg(1);
        if (fns.t !== 'list') return unknown('pipe');
        let acc = args[0]!;
        for (const f of fns.items) acc = done(this.call(this.force(f), acc));
        return this.force(acc);
      }
      case 'flip':
        return this.call(arg(0), args[2]!, args[1]!);
      case 'const':
        return arg(0);
      case 'id':
        return arg(0);
      case 'fix': {
        const fixed: Thunk = {};
        const v = this.call(arg(0), fixed);
        fixed.value = v;
        return v;
      }
      case 'eachDefaultSystem':
      case 'eachSystem': {
        // flake-utils: `{ packages = ...; }` for each system becomes `{ packages.<system> = ...; }`. Evaluated for
        // one system: some flakes keep hosts there (`packages.<system>.nixosConfigurations`), alike for every system.
        let system = PER_SYSTEM;
        if (name === 'eachSystem') {
          const systems = arg(0);
          const names = systems.t === 'list' ? systems.items.map((i) => this.force(i)) : [];
          const linux = names.find((n) => n.t === 'str' && n.v.endsWith('-linux')) ?? names[0];
          if (linux && linux.t === 'str') system = linux.v;
        }
        const perSystem = this.call(arg(name === 'eachSystem' ? 1 : 0), done({ t: 'str', v: system }));
        if (perSystem.t !== 'attrs')
          return { t: 'attrs', attrs: new Map(), partial: 'per-system outputs of flake-utils' };
        const attrs = new Map<string, Thunk>();
        for (const [k, t] of perSystem.attrs) attrs.set(k, done({ t: 'attrs', attrs: new Map([[system, t]]) }));
        return { t: 'attrs', attrs, partial: 'per-system outputs of flake-utils (read for one system)' };
      }
      case 'flatten': {
        const items: Thunk[] = [];
        const walk = (v: Value, depth: number): boolean => {
          if (v.t !== 'list') return false;
          for (const i of v.items) {
            const x = depth < 16 ? this.force(i) : unknown('nested too deeply');
            if (x.t === 'list') {
              if (!walk(x, depth + 1)) return false;
            } else items.push(done(x));
          }
          return true;
        };
        return walk(arg(0), 0) ? { t: 'list', items } : unknown('flatten of a list not known here');
      }
      case 'concatStringsSep': {
        const sep = arg(0);
        const list = arg(1);
        if (sep.t !== 'str' || list.t !== 'list') return unknown('concatStringsSep');
        const parts: string[] = [];
        for (const i of list.items) {
          const v = this.coerce(this.force(i));
          if (v.t !== 'str' && v.t !== 'path') return unknown('a string built from values not known here');
          parts.push(v.v);
        }
        return { t: 'str', v: parts.join(sep.v) };
      }
      case 'makeExtensible': {
        const fixed: Thunk = {};
        const v = this.call(arg(0), fixed);
        fixed.value = v;
        return v;
      }
      case 'withSystem': {
        // flake-parts: `withSystem system ({ pkgs, config, inputs', ... }: ...)`: the per-system arguments are opaque.
        return this.call(arg(1), done({ t: 'opaque', name: 'perSystem' }));
      }
      case 'importApply': {
        // flake-parts: `importApply ./module.nix args` is `import ./module.nix args`, a module
        const target = this.absPath(arg(0));
        if (!target) return unknown('importApply of a path not known here');
        return this.call(this.force(this.importFile(target)), args[1]!);
      }
      case 'mkFlake':
        return this.flakeParts(args[0]!, args[1]!);
      case 'snowfallFlake':
        return this.snowfall(args[0]!, args[1]!, call, file);
      default:
        return unknown(`${name} is not followed`);
    }
  }

  /**
   * `import-tree ./modules` (vic/import-tree, the "dendritic" layout): a flake-parts module importing every .nix
   * file below the directory, except paths with a component starting with `_`.
   */
  private importTree(root: Value): Value {
    const roots = root.t === 'list' ? root.items.map((i) => this.force(i)) : [root];
    const items: Thunk[] = [];
    const walk = (d: string, depth: number): void => {
      const entries = this.tree.readDir(d);
      if (!entries || depth > 30) return;
      for (const [k, kind] of [...entries].sort()) {
        if (k.startsWith('_')) continue;
        if (kind === 'directory') walk(path.join(d, k), depth + 1);
        else if (k.endsWith('.nix')) items.push(done({ t: 'path', v: path.join(d, k) }));
      }
    };
    for (const r of roots) {
      if (r.t !== 'path') return unknown('import-tree of a path not known here');
      if (this.tree.file(r.v)) items.push(done(r));
      else walk(r.v, 0);
    }
    return { t: 'attrs', attrs: new Map([['imports', done({ t: 'list', items })]]) };
  }

  /**
   * snowfall-lib's `mkFlake`: a host per directory `systems/<arch>-linux/<host>/default.nix` (darwin for
   * `-darwin`) below `snowfall.root` (else `src`), built with the modules of `systems.modules.nixos` (the one list
   * every host shares: pin adds its module there) and the host's own file; snowfall passes `inputs` to modules.
   */
  private snowfall(libArgs: Thunk | undefined, flakeArgs: Thunk, call: SyntaxNode, file: SourceFile): Value {
    const a = this.force(flakeArgs);
    const l = libArgs ? this.force(libArgs) : undefined;
    const get = (v: Value | undefined, ...names: string[]): Value | undefined => {
      let x = v;
      for (const n of names) {
        if (!x || x.t !== 'attrs') return undefined;
        const t = x.attrs.get(n);
        x = t ? this.force(t) : undefined;
      }
      return x;
    };
    const root =
      get(a, 'snowfall', 'root') ?? get(l, 'snowfall', 'root') ?? get(a, 'src') ?? get(l, 'src') ?? unknown('src');
    const dir = this.absPath(root);
    if (!dir) return unknown('snowfall-lib mkFlake without a src known here');
    const systemsDir = path.join(dir, 'systems');
    const targets = this.tree.readDir(systemsDir);
    if (!targets) return unknown(`snowfall-lib: cannot list ${systemsDir}`);
    const nixos = new Map<string, Thunk>();
    const darwin = new Map<string, Thunk>();
    for (const [target, kind] of [...targets].sort()) {
      const linux = target.endsWith('-linux');
      if (kind !== 'directory' || (!linux && !target.endsWith('-darwin'))) continue;
      const os = linux ? 'nixos' : 'darwin';
      const shared = get(a, 'systems', 'modules', os);
      const hosts = this.tree.readDir(path.join(systemsDir, target)) ?? new Map();
      for (const [host, hostKind] of [...hosts].sort()) {
        const hostFile = path.join(systemsDir, target, host, 'default.nix');
        if (hostKind !== 'directory' || !this.tree.file(hostFile)) continue;
        const modules: Thunk[] = [
          ...(shared && shared.t === 'list' ? shared.items : shared ? [done(shared)] : []),
          done({ t: 'path', v: hostFile }),
        ];
        const arg: Value = {
          t: 'attrs',
          attrs: new Map([
            ['modules', done({ t: 'list', items: modules })],
            ['specialArgs', done({ t: 'attrs', attrs: new Map([['inputs', done({ t: 'opaque', name: 'inputs' })]]) })],
          ]),
        };
        if (a.t === 'attrs' && a.node && a.file) {
          arg.node = a.node;
          arg.file = a.file;
        }
        const system: SystemValue = {
          t: 'system',
          builder: linux ? 'nixosSystem' : 'darwinSystem',
          input: 'nixpkgs',
          arg: done(arg),
          call,
          file,
          modulesKey: ['systems', 'modules', os],
          framework: 'snowfall-lib',
        };
        (linux ? nixos : darwin).set(host, done(system));
      }
    }
    return {
      t: 'attrs',
      attrs: new Map([
        ['nixosConfigurations', done({ t: 'attrs', attrs: nixos })],
        ['darwinConfigurations', done({ t: 'attrs', attrs: darwin })],
      ]),
      partial: 'the other outputs of snowfall-lib',
    };
  }

  /**
   * The hosts nixos-unified's autoWire builds from a directory: `<name>.nix` or `<name>/default.nix`, each a module
   * given the `flake` argument (`flake.inputs`). There is no list shared by every host: the host's own file is the
   * place for pin (its `imports`).
   */
  private autoWired(dir: string, builder: 'nixosSystem' | 'darwinSystem'): Map<string, Thunk> {
    const hosts = new Map<string, Thunk>();
    for (const [entry, kind] of [...(this.tree.readDir(dir) ?? new Map<string, string>())].sort()) {
      const hostFile = kind === 'directory' ? path.join(dir, entry, 'default.nix') : path.join(dir, entry);
      const name = kind === 'directory' ? entry : entry.replace(/\.nix$/, '');
      const file = (kind === 'directory' || entry.endsWith('.nix')) && this.tree.file(hostFile);
      if (!file) continue;
      const root = rootExpr(file.root) ?? file.root;
      let body: SyntaxNode | undefined = root;
      // under the function head, `let ... in` and parentheses: the module's attribute set
      for (let i = 0; body && ['Lambda', 'LetIn', 'Paren'].includes(body.kind) && i < 16; i++)
        body = body.kind === 'Paren' ? childNode(body) : childNodes(body)[childNodes(body).length - 1];
      const arg: Value = {
        t: 'attrs',
        attrs: new Map([
          ['modules', done({ t: 'list', items: [done({ t: 'path', v: hostFile })] })],
          ['specialArgs', done({ t: 'attrs', attrs: new Map([['flake', done({ t: 'opaque', name: 'flake' })]]) })],
        ]),
      };
      if (body && body.kind === 'AttrSet') {
        arg.node = body;
        arg.file = file;
      }
      const system: SystemValue = {
        t: 'system',
        builder,
        input: 'nixpkgs',
        arg: done(arg),
        call: root,
        file,
        modulesKey: ['imports'],
        framework: 'nixos-unified',
      };
      hosts.set(name, done(system));
    }
    return hosts;
  }

  /** A thunk computed on first use. */
  deferred(compute: () => Value): Thunk {
    return this.deferredInto({}, compute);
  }

  private deferredInto(t: Thunk, compute: () => Value): Thunk {
    let running = false;
    Object.defineProperty(t, 'value', {
      configurable: true,
      enumerable: true,
      get(): Value {
        if (running) return unknown('a value defined in terms of itself');
        running = true;
        try {
          const v = compute();
          Object.defineProperty(t, 'value', { value: v, writable: true, enumerable: true });
          return v;
        } finally {
          running = false;
        }
      },
    });
    return t;
  }

  /** The name argument for an attribute (a computed one is not known here). */
  private nameOf(k: string): Thunk {
    return done(k === COMPUTED_NAME ? unknown('a name computed by the flake') : { t: 'str', v: k });
  }

  private pairsToAttrs(pairs: Value[]): Value {
    const attrs = new Map<string, Thunk>();
    let partial: string | undefined;
    for (const pair of pairs) {
      if (pair.t !== 'attrs') {
        partial = 'a name/value pair not known here';
        continue;
      }
      const n = pair.attrs.get('name');
      const v = pair.attrs.get('value');
      const name = n ? this.force(n) : undefined;
      if (!name || name.t !== 'str' || !v) {
        partial = 'a name computed from values not known here';
        if (v && !attrs.has(COMPUTED_NAME)) attrs.set(COMPUTED_NAME, v);
        continue;
      }
      attrs.set(name.v, v);
    }
    const out: Value = { t: 'attrs', attrs };
    if (partial) out.partial = partial;
    return out;
  }

  // ---------------------------------------------------------------------------------------- flake-parts

  /**
   * flake-parts' `mkFlake { inherit inputs; } module`: the flake outputs are the `flake` attributes of the module
   * and of every module it imports (modules are functions of `{ inputs, self, withSystem, lib, config, ... }`).
   */
  private flakeParts(args: Thunk, top: Thunk): Value {
    const argSet = this.force(args);
    const inputs = argSet.t === 'attrs' ? argSet.attrs.get('inputs') : undefined;
    const inputsValue = inputs ? this.force(inputs) : undefined;
    const self =
      inputsValue && inputsValue.t === 'attrs'
        ? inputsValue.attrs.get('self')
        : inputsValue && inputsValue.t === 'opaque'
          ? done(this.selectOpaque(inputsValue, 'self'))
          : undefined;
    let outputs: Value = { t: 'attrs', attrs: new Map() };
    const merged = this.deferred(() => outputs);
    const moduleArgs = new Map<string, Thunk>();
    if (inputs) moduleArgs.set('inputs', inputs);
    moduleArgs.set('self', self ?? merged);
    moduleArgs.set('withSystem', done({ t: 'prim', name: 'withSystem', args: [] }));
    moduleArgs.set('lib', done({ t: 'opaque', name: 'lib', input: 'nixpkgs' }));
    // `config.flake` is the merged `flake` of every module (read lazily, after they are all collected)
    moduleArgs.set(
      'config',
      done({ t: 'attrs', attrs: new Map([['flake', merged]]), rest: { t: 'opaque', name: 'config' } }),
    );
    const argValue: Value = { t: 'attrs', attrs: moduleArgs, rest: { t: 'opaque', name: 'flake-parts' } };

    const seen = new Set<string | SyntaxNode>();
    const queue: Thunk[] = [top];
    const notFollowed: string[] = [];
    for (let i = 0; i < queue.length && i < 5000; i++) {
      const t = queue[i]!;
      let m = this.force(t);
      if (m.t === 'opaque') notFollowed.push(m.name);
      else if (m.t === 'unknown') notFollowed.push(m.why);
      if (m.t === 'path') {
        if (seen.has(m.v)) continue;
        seen.add(m.v);
        m = this.force(this.importFile(m.v));
      }
      if (m.t === 'lambda') {
        if (seen.has(m.node)) continue;
        seen.add(m.node);
        m = this.applyLambda(m, done(argValue));
      }
      if (m.t !== 'attrs') continue;
      const imports = m.attrs.get('imports');
      const importList = imports ? this.force(imports) : undefined;
      if (importList && importList.t === 'list') queue.push(...importList.items);
      let flake = m.attrs.get('flake');
      const config = m.attrs.get('config');
      if (!flake && config) {
        const c = this.force(config);
        if (c.t === 'attrs') flake = c.attrs.get('flake');
      }
      if (flake) outputs = mergeOptions(this, outputs, this.force(flake), []);
    }
    // nixos-unified's autoWire: a host per configurations/nixos/<name>(.nix|/default.nix), nix-darwin likewise
    const autoWire = notFollowed.findIndex((n) => /(^|\.)nixos-unified\.flakeModules\.autoWire$/.test(n));
    const source = this.flakeDir;
    if (autoWire >= 0 && source && outputs.t === 'attrs') {
      notFollowed.splice(autoWire, 1);
      const wired = new Map<string, Thunk>();
      for (const [output, os, builder] of [
        ['nixosConfigurations', 'nixos', 'nixosSystem'],
        ['darwinConfigurations', 'darwin', 'darwinSystem'],
      ] as const) {
        const hosts = this.autoWired(path.join(source, 'configurations', os), builder);
        if (hosts.size > 0 && !outputs.attrs.has(output)) wired.set(output, done({ t: 'attrs', attrs: hosts }));
      }
      outputs = { ...outputs, attrs: new Map([...outputs.attrs, ...wired]) };
    }
    if (notFollowed.length > 0 && outputs.t === 'attrs' && !outputs.partial) {
      const names = [...new Set(notFollowed)];
      outputs = {
        ...outputs,
        partial: `flake-parts modules not followed: ${names.slice(0, 4).join(', ')}${names.length > 4 ? ', ...' : ''}`,
      };
    }
    return outputs;
  }
}

/** Where flake-parts keeps modules (`flake.modules.nixos.x`, `flake.nixosModules.x`): definitions add up as a list. */
function isModuleOption(at: readonly string[]): boolean {
  if (at[0] === 'modules') return at.length === 3;
  return at.length === 2 && /Modules$/.test(at[0]!);
}

/** Merges flake-parts `flake` definitions: sets merge attribute by attribute, module options collect. */
function mergeOptions(interp: Interpreter, a: Value, b: Value, at: string[]): Value {
  if (isModuleOption(at)) {
    const items = [...(a.t === 'group' ? a.items : [done(a)]), ...(b.t === 'group' ? b.items : [done(b)])];
    return { t: 'group', items };
  }
  if (a.t !== 'attrs' || b.t !== 'attrs') return interp.update(a, b);
  const attrs = new Map(a.attrs);
  for (const [k, t] of b.attrs) {
    const prev = attrs.get(k);
    const here = [...at, k];
    if (!prev) attrs.set(k, isModuleOption(here) ? done({ t: 'group', items: [t] }) : t);
    else
      attrs.set(
        k,
        interp.deferred(() => mergeOptions(interp, interp.force(prev), interp.force(t), here)),
      );
  }
  const out: Value = { t: 'attrs', attrs };
  const partial = a.partial ?? b.partial;
  if (partial) out.partial = partial;
  return out;
}

function scalarEquals(a: Value, b: Value): boolean | undefined {
  if ((a.t === 'str' || a.t === 'path') && (b.t === 'str' || b.t === 'path')) return a.v === b.v;
  if (a.t === 'int' && b.t === 'int') return a.v === b.v;
  if (a.t === 'bool' && b.t === 'bool') return a.v === b.v;
  if (a.t === 'null' || b.t === 'null') {
    if (a.t === 'unknown' || b.t === 'unknown' || a.t === 'opaque' || b.t === 'opaque') return undefined;
    return a.t === b.t;
  }
  if (a.t === 'unknown' || b.t === 'unknown' || a.t === 'opaque' || b.t === 'opaque') return undefined;
  if ((a.t === 'str' && b.t === 'int') || (a.t === 'int' && b.t === 'str')) return false;
  return undefined;
}

// Applications made by the interpreter itself (genAttrs calling its function) have no node of their own.
const syntheticSource = parse('_');
const syntheticCall: SyntaxNode = rootExpr(syntheticSource.root) ?? syntheticSource.root;
const syntheticFile: SourceFile = { path: '/', text: '_', root: syntheticSource.root };

function describe(v: Value): string {
  if (v.t === 'unknown') return v.why;
  if (v.t === 'opaque') return v.name;
  return `a ${v.t}`;
}

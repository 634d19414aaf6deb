/**
 * Host discovery: every host of a flake (`nixosConfigurations`, `darwinConfigurations`, `homeConfigurations`),
 * the modules its builder is given, its special arguments and the nixpkgs input it is built with, however the
 * flake wires them: literal `nixosSystem` calls, helpers (`mkHost` in a `let`, in `lib/` or `hosts/default.nix`),
 * `genAttrs`/`mapAttrs`/`listToAttrs` over a host list, `builtins.readDir ./hosts`, flake-parts modules
 * (`flake.nixosConfigurations`, `withSystem`). Used by the lint (which follows each module's imports) and by pin
 * (which edits the builder's module list, once per helper).
 *
 * ```ts
 * const tree = sourceTreeOf(filesByPath);          // the flake's .nix files, parsed lazily
 * const found = discoverHosts('/repo/flake.nix', tree);
 * for (const host of found.hosts) host.name, host.builder?.file.path, host.modules, host.nixpkgsInput;
 * found.unresolved;                                 // outputs that could not be followed, with the reason
 * ```
 *
 * Nothing is evaluated by Nix; see eval.ts for what the interpreter follows. Bounded: a flake that asks for too
 * much work gets the hosts found so far and a reason for the rest.
 */
import * as path from 'node:path';
import { childNode, LineIndex, parse, rootExpr, unparen, type SyntaxNode } from '../nix';
import {
  COMPUTED_NAME,
  Interpreter,
  type SourceFile,
  type SourceTree,
  type SystemValue,
  type Thunk,
  type Value,
} from './eval';

export type { SourceFile, SourceTree } from './eval';

/** The name reported for hosts whose names the flake computes from what is not known here (one entry for all). */
export const COMPUTED_HOST = '<computed>';

export type HostKind = 'nixos' | 'darwin' | 'home';
export type HostOutput = 'nixosConfigurations' | 'darwinConfigurations' | 'homeConfigurations';

const OUTPUTS: ReadonlyArray<[HostOutput, HostKind]> = [
  ['nixosConfigurations', 'nixos'],
  ['darwinConfigurations', 'darwin'],
  ['homeConfigurations', 'home'],
];

const BUILDER_KINDS: Record<string, HostKind> = {
  nixosSystem: 'nixos',
  darwinSystem: 'darwin',
  homeManagerConfiguration: 'home',
};

/** One module given to a host's builder. */
export type HostModule =
  | { kind: 'file'; path: string }
  | { kind: 'inline'; node: SyntaxNode; file: SourceFile }
  | { kind: 'external'; name: string }
  | { kind: 'unknown'; why: string };

/** Where a value is written: the expression and its file. */
export interface Written {
  node: SyntaxNode;
  file: SourceFile;
}

export interface DiscoveredHost {
  name: string;
  output: HostOutput;
  kind: HostKind;
  /** The attribute name that defines the host (`nixosConfigurations.box = ...`), when written as one. */
  definedAt?: Written;
  /** The builder application (`nixpkgs.lib.nixosSystem { ... }`), in the flake or in a helper's file. */
  builder?: { name: string; call: SyntaxNode; file: SourceFile; line: number };
  /** The attribute set given to the builder, when written as one (pin adds the module to its `modules`). */
  argSet?: Written;
  /** Where the modules are in `argSet` (`modules`; `systems.modules.nixos` for snowfall-lib). */
  modulesKey?: string[];
  /** The framework building the host from its layout (snowfall-lib), when not a call written in the flake. */
  framework?: string;
  /** The `modules = [ ... ]` list where it is written, when the argument is not (`nixosSystem (args // { ... })`). */
  modulesList?: Written;
  /** The flake input providing nixpkgs (`nixpkgs` in `inputs.nixpkgs.lib.nixosSystem`), when known. */
  nixpkgsInput?: string;
  /** The flake input providing home-manager (home configurations). */
  homeManagerInput?: string;
  /** The modules given to the builder (their own imports are the caller's business). */
  modules: HostModule[];
  /** `specialArgs` / `extraSpecialArgs`, by name, where written. */
  specialArgs: Map<string, Written | undefined>;
  /** The name is computed by the flake (`"${meta.host}" = ...`, `mapAttrs mkHost hostsFromElsewhere`). */
  computedName?: boolean;
  /** Every module list was followed. */
  complete: boolean;
  gaps: string[];
}

export interface HostDiscovery {
  flakeFile: string;
  hosts: DiscoveredHost[];
  /** Outputs (or parts of them) that could not be followed, with the reason. */
  unresolved: string[];
}

/** The source tree of a set of files (absolute path -> text): parsed on demand, directories from the paths. */
export function sourceTreeOf(files: ReadonlyMap<string, string | SourceFile>): SourceTree {
  const parsed = new Map<string, SourceFile>();
  const dirs = new Map<string, Map<string, 'directory' | 'regular'>>();
  for (const p of files.keys()) {
    let child = p;
    let kind: 'directory' | 'regular' = 'regular';
    for (let dir = path.dirname(p); dir !== child; child = dir, dir = path.dirname(dir)) {
      let entries = dirs.get(dir);
      if (!entries) dirs.set(dir, (entries = new Map()));
      const name = path.basename(child);
      if (entries.get(name) === kind) break;
      entries.set(name, kind);
      kind = 'directory';
    }
  }
  return {
    file(p) {
      const hit = parsed.get(p);
      if (hit) return hit;
      const source = files.get(p);
      if (source === undefined) return undefined;
      const file = typeof source === 'string' ? { path: p, text: source, root: parse(source).root } : source;
      parsed.set(p, file);
      return file;
    },
    readDir: (p) => dirs.get(p),
  };
}

/** Finds the hosts of the flake whose flake.nix is `flakePath` (read through `tree`). Never throws. */
export function discoverHosts(flakePath: string, tree: SourceTree, options: { fuel?: number } = {}): HostDiscovery {
  const result: HostDiscovery = { flakeFile: flakePath, hosts: [], unresolved: [] };
  const flake = tree.file(flakePath);
  if (!flake) {
    result.unresolved.push(`cannot read ${flakePath}`);
    return result;
  }
  const interp = new Interpreter(tree, options.fuel);
  const outputs = flakeOutputsValue(interp, flake);
  if (outputs.t !== 'attrs') {
    result.unresolved.push(`the outputs of ${rel(flakePath, flakePath)} are not followed: ${describe(outputs)}`);
    return result;
  }
  for (const [output, kind] of OUTPUTS) {
    const thunk = outputs.attrs.get(output) ?? perSystemOutput(interp, outputs, output);
    if (!thunk) {
      if (outputs.partial && output === 'nixosConfigurations')
        result.unresolved.push(`${output}: the outputs are only partly known (${outputs.partial})`);
      continue;
    }
    const set = interp.force(thunk);
    if (set.t !== 'attrs') {
      result.unresolved.push(`${output}: ${describe(set)}`);
      continue;
    }
    if (set.partial) result.unresolved.push(`${output}: only partly known (${set.partial})`);
    for (const key of [...set.attrs.keys()]) {
      const thunk = set.attrs.get(key)!;
      const name = key === COMPUTED_NAME ? COMPUTED_HOST : key;
      const host = describeHost(interp, flakePath, output, kind, name, interp.force(thunk));
      if (key === COMPUTED_NAME) {
        host.computedName = true;
        host.complete = false;
        host.gaps.push(
          `${output}: host names computed from values not known here${set.partial ? ` (${set.partial})` : ''}`,
        );
      }
      const binding = thunk.expr?.parent;
      const attrpath = binding && binding.kind === 'Binding' ? childNode(binding, 'Attrpath') : undefined;
      if (attrpath && thunk.file) host.definedAt = { node: attrpath, file: thunk.file };
      result.hosts.push(host);
    }
  }
  if (interp.exhausted) result.unresolved.push('the flake asks for too much evaluation; the rest was not followed');
  return result;
}

/**
 * Hosts kept among per-system outputs (`packages.<system>.nixosConfigurations`, written inside flake-utils'
 * `eachDefaultSystem`): the first system's, which are the same hosts for every system.
 */
function perSystemOutput(interp: Interpreter, outputs: Value & { t: 'attrs' }, output: HostOutput): Thunk | undefined {
  for (const group of ['packages', 'legacyPackages']) {
    const t = outputs.attrs.get(group);
    const bySystem = t ? interp.force(t) : undefined;
    if (!bySystem || bySystem.t !== 'attrs') continue;
    for (const [, perSystem] of bySystem.attrs) {
      const v = interp.force(perSystem);
      const hit = v.t === 'attrs' ? v.attrs.get(output) : undefined;
      if (hit) return hit;
      break;
    }
  }
  return undefined;
}

/** The value of a flake's `outputs`, applied to its inputs (`self` is the outputs themselves). */
export function flakeOutputsValue(interp: Interpreter, flake: SourceFile): Value {
  const top = interp.force(interp.thunk(rootExpr(flake.root) ?? flake.root, { vars: new Map() }, flake));
  if (top.t !== 'attrs') return { t: 'unknown', why: 'flake.nix is not an attribute set' };
  const outputsFn = top.attrs.get('outputs');
  interp.flakeDir = path.dirname(flake.path);
  if (!outputsFn) return { t: 'unknown', why: 'flake.nix has no outputs' };
  // `self` is the outputs, and a path to the flake's source (`"${self}/hosts"`, `self + "/hosts"`)
  const source: Thunk = { value: { t: 'path', v: path.dirname(flake.path) } };
  const self: Thunk = interp.deferred(() =>
    outputs.t === 'attrs' ? { ...outputs, attrs: new Map([...outputs.attrs, ['outPath', source]]) } : outputs,
  );
  const inputs: Value = {
    t: 'attrs',
    attrs: new Map([['self', self]]),
    rest: { t: 'opaque', name: 'inputs', inputs: true },
  };
  const fn = interp.force(outputsFn);
  const outputs: Value = interp.apply(fn, { value: inputs }, rootExpr(flake.root) ?? flake.root, flake);
  return outputs;
}

function describeHost(
  interp: Interpreter,
  flakePath: string,
  output: HostOutput,
  kind: HostKind,
  name: string,
  value: Value,
): DiscoveredHost {
  const host: DiscoveredHost = {
    name,
    output,
    kind,
    modules: [],
    specialArgs: new Map(),
    complete: true,
    gaps: [],
  };
  if (value.t !== 'system') {
    host.complete = false;
    host.gaps.push(`${output}.${name} is built by an expression that is not followed (${describe(value)})`);
    return host;
  }
  const system: SystemValue = value;
  host.kind = BUILDER_KINDS[system.builder] ?? kind;
  host.builder = {
    name: system.builder,
    call: system.call,
    file: system.file,
    line: new LineIndex(system.file.text).positionAt(system.call.start).line + 1,
  };
  if (system.modulesKey) host.modulesKey = system.modulesKey;
  if (system.framework) host.framework = system.framework;
  if (system.input) {
    if (host.kind === 'home') host.homeManagerInput = system.input;
    else host.nixpkgsInput = system.input;
  }
  const argExpr = system.arg.expr ? unparen(system.arg.expr) : undefined;
  if (argExpr && argExpr.kind === 'AttrSet' && system.arg.file) host.argSet = { node: argExpr, file: system.arg.file };
  const arg = interp.force(system.arg);
  if (arg.t !== 'attrs') {
    host.complete = false;
    host.gaps.push(`the argument of ${system.builder} for ${name} is not followed (${describe(arg)})`);
    if (!host.argSet && arg.t === 'unknown') return host;
    return host;
  }
  if (!host.argSet && arg.node && arg.file) host.argSet = { node: arg.node, file: arg.file };
  const modules = arg.attrs.get('modules');
  const modulesExpr = modules?.expr ? unparen(modules.expr) : undefined;
  if (!host.argSet && modulesExpr && modulesExpr.kind === 'List' && modules?.file)
    host.modulesList = { node: modulesExpr, file: modules.file };
  if (modules) {
    const list = interp.force(modules);
    if (list.t === 'list') {
      for (const item of list.items) host.modules.push(...modulesOf(interp, item));
    } else {
      host.modules.push({ kind: 'unknown', why: `the modules of ${name}: ${describe(list)}` });
    }
    if (arg.partial) host.modules.push({ kind: 'unknown', why: `the argument of ${system.builder}: ${arg.partial}` });
  } else if (host.kind !== 'home') {
    host.complete = false;
    host.gaps.push(`${output}.${name} has no modules list`);
  }
  for (const key of ['specialArgs', 'extraSpecialArgs']) {
    const t = arg.attrs.get(key);
    if (!t) continue;
    const args = interp.force(t);
    if (args.t !== 'attrs') continue;
    for (const [k, v] of args.attrs)
      host.specialArgs.set(k, v.expr && v.file ? { node: v.expr, file: v.file } : undefined);
  }
  if (host.kind === 'home' && !host.nixpkgsInput) {
    const pkgs = arg.attrs.get('pkgs');
    const p = pkgs ? interp.force(pkgs) : undefined;
    if (p && p.t === 'opaque' && p.input) host.nixpkgsInput = p.input;
  }
  for (const m of host.modules) {
    if (m.kind === 'unknown') {
      host.complete = false;
      host.gaps.push(m.why);
    }
  }
  void flakePath;
  return host;
}

/** What a module list element stands for (a flake-parts module option written in several files: each of them). */
function modulesOf(interp: Interpreter, item: Thunk, depth = 0): HostModule[] {
  const literal = item.expr ? unparen(item.expr) : undefined;
  if (!(literal && item.file && (literal.kind === 'AttrSet' || literal.kind === 'Lambda'))) {
    const v = interp.force(item);
    if (v.t === 'group' && depth < 8) return v.items.flatMap((i) => modulesOf(interp, i, depth + 1));
  }
  return [moduleOf(interp, item)];
}

function moduleOf(interp: Interpreter, item: Thunk): HostModule {
  const literal = item.expr ? unparen(item.expr) : undefined;
  if (literal && item.file && (literal.kind === 'AttrSet' || literal.kind === 'Lambda'))
    return { kind: 'inline', node: literal, file: item.file };
  const v = interp.force(item);
  switch (v.t) {
    case 'path':
      return { kind: 'file', path: v.v };
    case 'str':
      return v.v.startsWith('/') ? { kind: 'file', path: v.v } : { kind: 'unknown', why: `the module "${v.v}"` };
    case 'lambda':
      if (rootExpr(v.file.root) === v.node || unparen(rootExpr(v.file.root)) === v.node)
        return { kind: 'file', path: v.file.path };
      return { kind: 'inline', node: v.node, file: v.file };
    case 'attrs':
      if (v.node && v.file) {
        if (unparen(rootExpr(v.file.root)) === v.node) return { kind: 'file', path: v.file.path };
        return { kind: 'inline', node: v.node, file: v.file };
      }
      return { kind: 'unknown', why: 'a module built by code that is not followed' };
    case 'opaque':
      // Another flake's module (`home-manager.nixosModules.home-manager`, `inputs.x.modules.nixos.default`);
      // anything else from outside (`custom.lib.modules.common`) may well be the user's own configuration.
      return /(^|\.)((nixos|darwin|home|homeManager|hm|flake)Modules|modules\.(nixos|darwin|homeManager|home))(\.|$)/.test(
        v.name,
      )
        ? { kind: 'external', name: v.name }
        : { kind: 'unknown', why: `${v.name} comes from outside the flake` };
    default:
      return { kind: 'unknown', why: `a module that is not followed (${describe(v)})` };
  }
}

function describe(v: Value): string {
  if (v.t === 'unknown') return v.why;
  if (v.t === 'opaque') return v.name;
  if (v.t === 'prim') return `${v.name}, called with too few arguments or by a library that is not followed`;
  return `a ${v.t}`;
}

function rel(from: string, p: string): string {
  return path.relative(path.dirname(from), p) || path.basename(p);
}

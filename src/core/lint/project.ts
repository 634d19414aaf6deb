/**
 * The configurations of a project (a flake, or a directory of classic configuration files) as the
 * user organised them: flake `nixosConfigurations` / `homeConfigurations` / `darwinConfigurations`
 * with their module lists, a `configuration.nix` importing its `hardware-configuration.nix`, and the
 * home-manager users declared inside NixOS/darwin configurations. Nothing is evaluated; what cannot
 * be followed marks the configuration incomplete, and incomplete configurations raise no "missing" alarm.
 */
import * as path from 'node:path';
import {
  identName,
  LineIndex,
  parse,
  peelPriority,
  resolveVariable,
  rootExpr,
  stringValue,
  type SyntaxNode,
} from '../nix';
import { discoverHosts, sourceTreeOf, type HostDiscovery, type SourceTree } from '../hosts';
import type { FlakeInfo } from './flakeInfo';
import type { ModuleInfo, ModuleRef, OptionDef, ParsedFile } from './module';
import { analyzeModule, moduleRef, moduleRefs } from './module';

/** Reads files for the analysis: the working tree (with open editor buffers on top) or a git revision. */
export interface SourceReader {
  read(absPath: string): Promise<string | undefined>;
}

/** Parses files once per text. */
export class ParseCache {
  private readonly files = new Map<string, ParsedFile>();
  private readonly modules = new Map<string, ModuleInfo>();

  /** `shared`: another cache whose parses are reused when the text is the same (a git base and the working tree). */
  constructor(private readonly shared?: ParseCache) {}

  get(absPath: string, text: string): ParsedFile {
    const hit = this.files.get(absPath);
    if (hit && hit.text === text) return hit;
    const other = this.shared?.files.get(absPath);
    if (other && other.text === text) {
      this.files.set(absPath, other);
      this.modules.delete(absPath);
      return other;
    }
    const result = parse(text);
    const file: ParsedFile = {
      path: absPath,
      text,
      root: result.root,
      lines: new LineIndex(text),
      errorCount: result.errors.length,
    };
    this.files.set(absPath, file);
    this.modules.delete(absPath);
    return file;
  }

  module(file: ParsedFile): ModuleInfo {
    const hit = this.modules.get(file.path);
    if (hit && hit.file === file) return hit;
    const other = this.shared?.modules.get(file.path);
    if (other && other.file === file) {
      this.modules.set(file.path, other);
      return other;
    }
    const info = analyzeModule(file, file.root);
    this.modules.set(file.path, info);
    return info;
  }

  forget(absPath: string): void {
    this.files.delete(absPath);
    this.modules.delete(absPath);
  }
}

export type ConfigKind = 'nixos' | 'home' | 'darwin';

export interface ConfigRoot {
  /** Stable across revisions: "flake.nix#nixosConfigurations.host", "hosts/a/configuration.nix", "…#home-manager.users.alice". */
  id: string;
  kind: ConfigKind;
  /** For messages: the host or user name. */
  name: string;
  /** Where a "missing" diagnostic goes. */
  anchorFile: ParsedFile;
  anchor: SyntaxNode;
  /** The flake input providing nixpkgs (`nixpkgs` in `nixpkgs.lib.nixosSystem`), when known. */
  nixpkgsInput?: string;
  /** The flake input providing home-manager, when known. */
  homeManagerInput?: string;
  /** Arguments given to every module (`specialArgs`, `extraSpecialArgs`), by name. */
  specialArgs: Map<string, { node: SyntaxNode; file: ParsedFile }>;
  modules: ModuleInfo[];
  /** All modules were followed (no computed imports, no unreadable file). */
  complete: boolean;
  /** Why not complete, for debugging and hovers. */
  gaps: string[];
  /** The enclosing NixOS/darwin configuration of a home-manager user. */
  parent?: ConfigRoot;
}

export interface Project {
  dir: string;
  flakeFile?: ParsedFile;
  roots: ConfigRoot[];
  /** Every parsed module, by path. */
  files: Map<string, ModuleInfo>;
  /** Flake outputs that could not be followed (`nixosConfigurations = mapAttrs …`): no "missing" alarms at all then. */
  unresolvedOutputs: boolean;
  /** What the host discovery found in the flake (hosts, and what it could not follow). */
  hostDiscovery?: HostDiscovery;
  flake?: FlakeInfo;
}

export interface BuildOptions {
  /**
   * The .nix files under the project, by name only (from a directory listing): the directory listings the host
   * discovery reads (`builtins.readDir`) and the conventional entry points. Being listed never gets a file read.
   */
  files: string[];
  /** Files analysed whether or not a configuration reaches them: named on the command line, open in the editor. */
  named?: readonly string[];
  flake?: FlakeInfo;
}

/** Rounds of host discovery: each reads the files the previous one asked for (a helper, a host directory). */
const DISCOVERY_ROUNDS = 8;

/**
 * The conventional entry points of configurations written without a flake (or wired by flake code the discovery
 * cannot follow): `configuration.nix`, home-manager's `home.nix`, and a `default.nix` beside a
 * `hardware-configuration.nix` (`hosts/<name>/default.nix`). Found by name; nothing is read to find them.
 */
export function conventionalRoots(files: readonly string[]): string[] {
  const hardwareDirs = new Set(
    files.filter((f) => path.basename(f) === 'hardware-configuration.nix').map((f) => path.dirname(f)),
  );
  return files.filter((f) => {
    const base = path.basename(f);
    return (
      base === 'configuration.nix' ||
      base === 'home.nix' ||
      (base === 'default.nix' && hardwareDirs.has(path.dirname(f)))
    );
  });
}

/**
 * Builds the model of the project at `dir` from `reader`. Only what a configuration can reach is read: the flake's
 * hosts (through the host discovery) and the files their modules import, or without a flake the conventional entry
 * points and their imports, plus the `named` files. Any other file under the folder is never opened, so a hostile
 * or huge file nobody imports costs nothing.
 */
export async function buildProject(
  dir: string,
  reader: SourceReader,
  cache: ParseCache,
  options: BuildOptions,
): Promise<Project> {
  const project: Project = { dir, roots: [], files: new Map(), unresolvedOutputs: false };
  if (options.flake) project.flake = options.flake;
  const load = async (p: string): Promise<ModuleInfo | undefined> => {
    const known = project.files.get(p);
    if (known) return known;
    const text = await reader.read(p);
    if (text === undefined) return undefined;
    const info = cache.module(cache.get(p, text));
    project.files.set(p, info);
    return info;
  };

  const flakePath = path.join(dir, 'flake.nix');
  const flakeText = await reader.read(flakePath);
  for (const f of options.named ?? []) await load(f);
  if (flakeText !== undefined) {
    const flakeFile = cache.get(flakePath, flakeText);
    project.flakeFile = flakeFile;
    await flakeRoots(project, flakeFile, options.files, load);
  }
  for (const root of project.roots) await followRoot(root, load);
  // Without a flake, or with hosts the discovery could not all follow, the conventional entry points are roots too
  // (a host wired by code we do not evaluate is usually one of them).
  if (!project.flakeFile || project.unresolvedOutputs || project.roots.some((r) => !r.complete)) {
    await loadReachable(conventionalRoots(options.files), load);
  }

  // Classic roots: configuration.nix, or a file importing hardware-configuration.nix, imported by nobody.
  // Only outside flakes: in a flake, hosts are wired by the flake (possibly through code we do not follow).
  if (!project.flakeFile) {
    const reached = new Set<string>();
    for (const r of project.roots) for (const m of r.modules) reached.add(m.file.path);
    const imported = new Set<string>();
    for (const info of project.files.values()) {
      for (const ref of info.imports)
        if (ref.kind === 'file') imported.add(ref.path).add(path.join(ref.path, 'default.nix'));
    }
    // "Imported by nobody" only holds when every import in the project is known: a computed import
    // (`"${builtins.fetchGit ./.}/x.nix"`, `map (h: ./hosts + h) …`) may reach any file.
    const computedImport = [...project.files.values()].find((info) => info.imports.some((r) => r.kind === 'unknown'));
    for (const info of [...project.files.values()]) {
      const p = info.file.path;
      if (reached.has(p) || imported.has(p) || p === flakePath) continue;
      const base = path.basename(p);
      const importsHardware = info.imports.some(
        (r) => r.kind === 'file' && path.basename(r.path) === 'hardware-configuration.nix',
      );
      if (!importsHardware && (base !== 'configuration.nix' || !looksLikeNixosModule(info))) continue;
      // A shared module importing hardware-configuration.nix is not a machine: only configuration.nix is surely
      // one, and any other file only when no import in the project is computed.
      const surelyRoot = base === 'configuration.nix' || !computedImport;
      const root: ConfigRoot = {
        id: rel(dir, p),
        kind: 'nixos',
        name: rel(dir, p),
        anchorFile: info.file,
        anchor: info.body ?? info.file.root,
        specialArgs: new Map(),
        modules: [],
        complete: surelyRoot,
        gaps: surelyRoot ? [] : [`may be a shared module imported by ${rel(dir, computedImport!.file.path)}`],
      };
      pendingModules.set(root, [{ kind: 'file', path: p, node: info.file.root }]);
      project.roots.push(root);
      await followRoot(root, load);
    }
  }

  // Modules that set stateVersion themselves but that no configuration we could follow reaches (hosts wired by
  // code we do not evaluate): each is taken, with what it imports, as a configuration of its own. Incomplete by
  // construction, so they never raise a "missing" alarm; they let the service rules know the stateVersion.
  const reachedNow = new Set<string>();
  for (const r of project.roots) for (const m of r.modules) reachedNow.add(m.file.path);
  for (const info of [...project.files.values()]) {
    const p = info.file.path;
    if (reachedNow.has(p) || p === flakePath) continue;
    const sv = info.defs.find((d) => d.key === 'system.stateVersion' || d.key === 'home.stateVersion');
    if (!sv) continue;
    const rel = path.relative(dir, p).split(path.sep).join('/');
    const root: ConfigRoot = {
      id: `${rel}#module`,
      kind: sv.key === 'home.stateVersion' ? 'home' : 'nixos',
      name: rel,
      anchorFile: info.file,
      anchor: sv.name,
      specialArgs: new Map(),
      modules: [],
      complete: false,
      gaps: ['a module setting stateVersion that no followed configuration reaches'],
    };
    pendingModules.set(root, [{ kind: 'file', path: p, node: info.file.root }]);
    project.roots.push(root);
    await followRoot(root, load);
  }

  // home-manager users inside NixOS/darwin configurations.
  for (const root of [...project.roots]) {
    if (root.kind === 'home') continue;
    for (const user of homeManagerUsers(root)) {
      project.roots.push(user);
      await followRoot(user, load);
    }
  }
  return project;
}

/** Loads `entries` and every file they import, transitively (what a classic configuration reaches). */
async function loadReachable(
  entries: readonly string[],
  load: (p: string) => Promise<ModuleInfo | undefined>,
): Promise<void> {
  const queue = [...entries];
  const seen = new Set<string>();
  for (let i = 0; i < queue.length && i < 5000; i++) {
    const p = queue[i]!;
    if (seen.has(p)) continue;
    seen.add(p);
    const info = (await load(p)) ?? (p.endsWith('.nix') ? undefined : await load(path.join(p, 'default.nix')));
    for (const ref of info?.imports ?? []) if (ref.kind === 'file') queue.push(ref.path);
  }
}

/** NixOS-only namespaces: a configuration.nix defining one of these is a NixOS configuration (not a home-manager one). */
const NIXOS_NAMESPACES = new Set([
  'boot',
  'fileSystems',
  'networking',
  'system',
  'users',
  'nix',
  'time',
  'i18n',
  'hardware',
  'swapDevices',
  'console',
  'security',
  'systemd',
]);

function looksLikeNixosModule(info: ModuleInfo): boolean {
  return info.defs.some((d) => d.path[0] !== undefined && NIXOS_NAMESPACES.has(d.path[0]));
}

const pendingModules = new WeakMap<ConfigRoot, ModuleRef[]>();

/**
 * The flake's hosts, found by the core host discovery (the same that pin uses), as configuration roots. The
 * discovery reads through a tree of the files loaded so far; the listed files it asks for are then loaded and it
 * runs again, until it asks for nothing new, so only the files the flake's outputs reach are read.
 */
async function flakeRoots(
  project: Project,
  flake: ParsedFile,
  listed: readonly string[],
  load: (p: string) => Promise<ModuleInfo | undefined>,
): Promise<void> {
  const files = new Map<string, ParsedFile>();
  const byPath = (p: string): ParsedFile | undefined => files.get(p);
  const names = new Map<string, string>(listed.map((p) => [p, '']));
  const listing = sourceTreeOf(names);
  const asked = new Set<string>();
  let found: HostDiscovery | undefined;
  for (let round = 0; round < DISCOVERY_ROUNDS; round++) {
    files.clear();
    for (const info of project.files.values()) files.set(info.file.path, info.file);
    files.set(flake.path, flake);
    const wanted: string[] = [];
    const tree: SourceTree = {
      file(p) {
        const hit = files.get(p);
        if (!hit && names.has(p) && !asked.has(p)) {
          asked.add(p);
          wanted.push(p);
        }
        return hit;
      },
      readDir: (p) => listing.readDir(p),
    };
    found = discoverHosts(flake.path, tree);
    if (wanted.length === 0) break;
    for (const p of wanted) await load(p);
  }
  if (!found) return;
  if (found.unresolved.length > 0) project.unresolvedOutputs = true;
  project.hostDiscovery = found;
  const flakeRel = rel(project.dir, flake.path);
  for (const host of found.hosts) {
    const id = `${flakeRel}#${host.output}.${host.name}`;
    const anchorAt =
      host.definedAt ?? (host.builder ? { node: host.builder.call, file: host.builder.file } : undefined);
    const anchorFile = (anchorAt && byPath(anchorAt.file.path)) ?? flake;
    const root: ConfigRoot = {
      id,
      kind: host.kind,
      name: host.name,
      anchorFile,
      anchor: anchorAt && anchorFile.path === anchorAt.file.path ? anchorAt.node : (rootExpr(flake.root) ?? flake.root),
      specialArgs: new Map(),
      modules: [],
      complete: host.complete,
      gaps: [...host.gaps],
    };
    if (host.nixpkgsInput) root.nixpkgsInput = host.nixpkgsInput;
    if (host.homeManagerInput) root.homeManagerInput = host.homeManagerInput;
    for (const [name, where] of host.specialArgs) {
      const file = where && byPath(where.file.path);
      if (where && file) root.specialArgs.set(name, { node: where.node, file });
    }
    const refs: ModuleRef[] = [];
    for (const m of host.modules) {
      if (m.kind === 'file') refs.push({ kind: 'file', path: m.path, node: root.anchor });
      else if (m.kind === 'external') refs.push({ kind: 'external', name: m.name, node: root.anchor });
      else if (m.kind === 'unknown') refs.push({ kind: 'unknown', node: root.anchor, why: m.why });
      else {
        const file = byPath(m.file.path);
        if (file) refs.push({ kind: 'inline', node: m.node, file });
        else refs.push({ kind: 'unknown', node: root.anchor, why: `a module in ${m.file.path}` });
      }
    }
    pendingModules.set(root, refs);
    project.roots.push(root);
  }
}

async function followRoot(root: ConfigRoot, load: (p: string) => Promise<ModuleInfo | undefined>): Promise<void> {
  const queue = [...(pendingModules.get(root) ?? [])];
  const seen = new Set<string>();
  const seenInline = new Set<SyntaxNode>();
  for (let i = 0; i < queue.length && i < 5000; i++) {
    const ref = queue[i]!;
    if (ref.kind === 'unknown') {
      root.complete = false;
      root.gaps.push(ref.why);
      continue;
    }
    if (ref.kind === 'external') continue;
    let info: ModuleInfo | undefined;
    if (ref.kind === 'inline') {
      if (seenInline.has(ref.node)) continue;
      seenInline.add(ref.node);
      info = analyzeModule(ref.file, ref.node);
    } else {
      let p = ref.path;
      if (seen.has(p)) continue;
      seen.add(p);
      info = await load(p);
      if (!info && !p.endsWith('.nix')) {
        p = path.join(p, 'default.nix');
        seen.add(p);
        info = await load(p);
      }
      if (!info) {
        root.complete = false;
        root.gaps.push(`cannot read ${ref.path}`);
        continue;
      }
    }
    root.modules.push(info);
    queue.push(...info.imports);
  }
}

/** home-manager users declared in a NixOS/darwin configuration, as configurations of their own. */
function homeManagerUsers(root: ConfigRoot): ConfigRoot[] {
  const users = new Map<string, ConfigRoot>();
  const shared: ModuleRef[] = [];
  const hmInput = root.modules
    .flatMap((m) => m.imports)
    .concat(pendingModules.get(root) ?? [])
    .find((r) => r.kind === 'external' && /home-manager/.test(r.name));
  const withHm = root.modules.filter((m) => moduleIndex(m).under.has('home-manager'));
  for (const m of withHm) {
    for (const def of m.defs) {
      if (def.path[0] !== 'home-manager') continue;
      if (def.path[1] === 'sharedModules' && def.path.length === 2) {
        shared.push(...moduleRefs(def.value, def.file, path.dirname(def.file.path)));
        continue;
      }
      if (def.path[1] !== 'users' || def.path.length < 3) continue;
      const name = def.path[2] ?? '?';
      let user = users.get(name);
      if (!user) {
        user = {
          id: `${root.id}#home-manager.users.${name}`,
          kind: 'home',
          name,
          anchorFile: def.file,
          anchor: def.name,
          specialArgs: root.specialArgs,
          modules: [],
          complete: root.complete,
          gaps: [...root.gaps],
          parent: root,
        };
        if (def.path[2] === undefined) {
          // `home-manager.users.${user} = ...`: which user this adds to is not known here; its home.stateVersion
          // may well be set where the same user is written under its name
          user.complete = false;
          user.gaps.push('a home-manager user whose name is computed');
        }
        if (hmInput && hmInput.kind === 'external') {
          const parts = hmInput.name.split('.');
          user.homeManagerInput = parts[0] === 'inputs' ? parts[1]! : parts[0]!;
        }
        if (root.nixpkgsInput) user.nixpkgsInput = root.nixpkgsInput;
        users.set(name, user);
        pendingModules.set(user, []);
      }
      const pending = pendingModules.get(user)!;
      if (def.path.length === 3) {
        if (def.isSet) {
          // The set itself: a synthetic module made of the definitions below it (added below).
          continue;
        }
        pending.push(...moduleRef(def.value, def.file, path.dirname(def.file.path)));
      } else if (def.path[3] === 'imports' && def.path.length === 4) {
        pending.push(...moduleRefs(def.value, def.file, path.dirname(def.file.path)));
      }
    }
  }
  for (const [name, user] of users) {
    // Definitions written as `home-manager.users.<name>.…` inside the NixOS modules belong to the user.
    const prefix = ['home-manager', 'users', name];
    const synthetic: ModuleInfo[] = [];
    for (const m of withHm) {
      const defs = m.defs
        .filter((d) => d.path.length > 3 && prefix.every((p, i) => d.path[i] === p))
        .map(
          (d) =>
            ({
              ...d,
              path: d.path.slice(3),
              key: d.path
                .slice(3)
                .map((x) => x ?? '?')
                .join('.'),
            }) as OptionDef,
        );
      if (defs.length) synthetic.push({ file: m.file, node: m.node, defs, imports: [], formals: m.formals });
    }
    user.modules.push(...synthetic);
    pendingModules.get(user)!.push(...shared);
  }
  return [...users.values()];
}

function rel(dir: string, p: string): string {
  return path.relative(dir, p).split(path.sep).join('/');
}

interface ModuleIndex {
  byKey: Map<string, OptionDef[]>;
  /** Every key and proper prefix of a key, with the first definition at or below it. */
  under: Map<string, OptionDef>;
  /** Definitions the rules look at one by one (stateVersion, label). */
  special: OptionDef[];
}

const moduleIndexes = new WeakMap<ModuleInfo, ModuleIndex>();

/** Keys the rules read definition by definition. */
function isSpecialKey(key: string): boolean {
  return key === 'system.stateVersion' || key === 'system.nixos.label' || key.endsWith('home.stateVersion');
}

/** The definitions of one module by option; cached with the module, so an edit re-indexes one file. */
export function moduleIndex(info: ModuleInfo): ModuleIndex {
  const hit = moduleIndexes.get(info);
  if (hit) return hit;
  const index: ModuleIndex = { byKey: new Map(), under: new Map(), special: [] };
  for (const d of info.defs) {
    const list = index.byKey.get(d.key);
    if (list) list.push(d);
    else index.byKey.set(d.key, [d]);
    if (isSpecialKey(d.key)) index.special.push(d);
    let key = d.key;
    if (!d.isSet) {
      const dot = key.lastIndexOf('.');
      if (dot < 0) continue;
      key = key.slice(0, dot);
    }
    while (!index.under.has(key)) {
      index.under.set(key, d);
      const dot = key.lastIndexOf('.');
      if (dot < 0) break;
      key = key.slice(0, dot);
    }
  }
  moduleIndexes.set(info, index);
  return index;
}

/** All definitions of `key` in a configuration. */
export function defsOf(root: ConfigRoot, key: string): OptionDef[] {
  const out: OptionDef[] = [];
  for (const m of root.modules) {
    const defs = moduleIndex(m).byKey.get(key);
    if (defs) out.push(...defs);
  }
  return out;
}

/** Whether anything in the configuration defines `key` or a path below it. */
export function definesOption(root: ConfigRoot, key: string): boolean {
  return root.modules.some((m) => {
    const index = moduleIndex(m);
    return index.byKey.has(key) || index.under.has(key);
  });
}

/** The first definition strictly below `key` (or of `key` as an attribute set), if any. */
export function firstDefUnder(root: ConfigRoot, key: string): OptionDef | undefined {
  for (const m of root.modules) {
    const d = moduleIndex(m).under.get(key);
    if (d) return d;
  }
  return undefined;
}

export type ResolvedValue =
  | { kind: 'string'; value: string; node: SyntaxNode; file: ParsedFile }
  | { kind: 'int'; node: SyntaxNode; file: ParsedFile }
  | { kind: 'bool'; value: boolean; node: SyntaxNode; file: ParsedFile }
  | { kind: 'computed'; node: SyntaxNode; file: ParsedFile; text: string };

/** The constant a definition's value comes to, following `let`, `inherit` and special arguments; else "computed". */
export function resolveValue(
  node: SyntaxNode,
  file: ParsedFile,
  root: ConfigRoot | undefined,
  depth = 0,
): ResolvedValue {
  const v = peelPriority(node);
  const computed = (): ResolvedValue => ({ kind: 'computed', node: v, file, text: file.text.slice(v.start, v.end) });
  if (depth > 16) return computed();
  if (v.kind === 'String') {
    const s = stringValue(v);
    return s === undefined ? computed() : { kind: 'string', value: s, node: v, file };
  }
  if (v.kind === 'Literal') {
    const t = file.text.slice(v.start, v.end);
    return /^\d+$/.test(t) ? { kind: 'int', node: v, file } : computed();
  }
  if (v.kind === 'Ident') {
    const name = identName(v);
    if (name === 'true' || name === 'false') {
      const o = resolveVariable(name, v);
      if (o.kind === 'builtin' || o.kind === 'unresolved' || o.kind === 'with')
        return { kind: 'bool', value: name === 'true', node: v, file };
    }
    if (!name) return computed();
    const o = resolveVariable(name, v);
    if (o.kind === 'let' || o.kind === 'rec') {
      // `inherit (x) name` is computed; `inherit name;` names a variable of the outer scope, not followed.
      return o.value && !o.inheritFrom ? resolveValue(o.value, file, root, depth + 1) : computed();
    }
    if (o.kind === 'argument') {
      const arg = root?.specialArgs.get(name) ?? root?.parent?.specialArgs.get(name);
      if (arg) return resolveValue(arg.node, arg.file, undefined, depth + 1);
      if (o.value) return resolveValue(o.value, file, root, depth + 1);
    }
    return computed();
  }
  return computed();
}

/** True when a definition's value is the literal `true` (through mkDefault/mkForce/mkIf-free forms). */
export function isTrue(def: OptionDef): boolean {
  const v = peelPriority(def.value);
  return v.kind === 'Ident' && identName(v) === 'true';
}

/**
 * Pinning the git commit into every future generation: a module setting `system.configurationRevision` from
 * `self.rev or self.dirtyRev` and `system.nixos.label` ending in the short revision (sanitised to the label's
 * `[a-zA-Z0-9:_.-]`), added to the module list of each host's builder.
 *
 * Hosts are found by the core host discovery (src/core/hosts), through helpers, genAttrs, readDir and flake-parts.
 * Before any edit, every definition of the two options reachable from each host (its modules and their imports,
 * `mkIf` included) is looked up: a host that has one is "already pinned" for it and never gets a second. Hosts
 * sharing a helper get one edit, in the helper; several builder calls in flake.nix share one `let` binding and get
 * one line each. Minimal text edits on the lossless tree; a second run changes nothing; every touched file must
 * parse; a refusal says why; the result is shown as a unified diff before it is written.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { discoverHosts, sourceTreeOf, type DiscoveredHost, type SourceFile } from '../hosts';
import { listNixFiles } from '../lint/engine';
import { analyzeModule, type ModuleRef, type ParsedFile } from '../lint/module';
import {
  childNode,
  childNodes,
  childToken,
  collectBindings,
  flakeOutputs,
  getAttr,
  LineIndex,
  parse,
  resolveVariable,
  rootExpr,
  staticAttrPath,
  unparen,
  walkNodes,
  type SyntaxNode,
} from '../nix';
import { unifiedDiff } from './diff';

export type PinStatus = 'changed' | 'unchanged' | 'refused' | 'not-a-flake';

export interface PinHost {
  /** The nixosConfigurations name. */
  name: string | null;
  /** 1-based line of the nixosSystem call (in `builderFile`). */
  line: number;
  /** The file holding the builder call, relative to the flake (flake.nix, lib/mkHost.nix, ...). */
  builderFile?: string;
  revision: 'added' | 'present' | 'skipped';
  label: 'added' | 'present' | 'skipped';
  /** Where an existing setting was found, or why the host was skipped. */
  note?: string;
}

/** One file the pin edits. */
export interface PinFileEdit {
  file: string;
  before: string;
  after: string;
  diff: string;
}

export interface PinResult {
  status: PinStatus;
  /** flake.nix (or the file that was looked at). */
  file: string;
  /** flake.nix before and after (other files: `edits`). */
  before: string;
  after: string;
  /** Unified diff of every edited file; '' when nothing changes. */
  diff: string;
  /** Every file edited, flake.nix first. */
  edits: PinFileEdit[];
  /** What the user should read (errors for `refused`, the impure route for `not-a-flake`, hosts left alone). */
  messages: string[];
  hosts: PinHost[];
}

const REVISION_KEY = 'system.configurationRevision';
const LABEL_KEY = 'system.nixos.label';
/** The `let` binding holding the module when several builder calls in one file get it. */
export const PIN_BINDING = 'nixosGenerationsPin';
/** The file holding the module when builder calls sit in several files (a function of the flake's `self`). */
export const PIN_FILE = 'nixos-generations-pin.nix';
export const PIN_COMMENT = '# nixos-generations: record the git commit in every generation (pin)';

/** How to pin without flakes: there is no `self.rev`, and guessing an edit of configuration.nix would be blind. */
const NON_FLAKE_EXPLANATION = [
  'This is not a flake: a classic configuration has no `self.rev` to read the commit from, so nothing was edited.',
  'The impure route: pass the commit in when you rebuild and read it in configuration.nix, for example',
  '',
  '  system.configurationRevision =',
  '    let rev = builtins.getEnv "NIXOS_CONFIGURATION_REVISION"; in if rev == "" then null else rev;',
  '',
  '  sudo NIXOS_CONFIGURATION_REVISION="$(git -C /etc/nixos rev-parse HEAD)" nixos-rebuild switch',
  '',
  '(classic evaluation is impure, so builtins.getEnv sees the variable; sudo must keep it: `sudo --preserve-env=...`',
  'or `Defaults env_keep`). Or turn the configuration into a flake, and run pin again.',
].join('\n');

interface Edit {
  start: number;
  end: number;
  text: string;
}

function indentAt(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const match = /^[ \t]*/.exec(text.slice(lineStart));
  return match ? match[0] : '';
}

function onlySpaceBefore(text: string, offset: number): boolean {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*$/.test(text.slice(lineStart, offset));
}

function unitIndent(text: string): string {
  const m = /\n( +|\t)\S/.exec(text);
  if (!m) return '  ';
  return m[1]!.startsWith('\t')
    ? '\t'
    : m[1]!.length >= 4 && m[1]!.length % 4 === 0
      ? '  '
      : m[1]!.length === 1
        ? ' '
        : '  ';
}

/**
 * The module text, its lines indented by `indent` (the first line included). `argument` names a module argument
 * the module takes to reach `self` (`inputs` when `self` is `inputs.self` given through specialArgs).
 */
export function pinModuleText(
  self: string,
  parts: { revision: boolean; label: boolean },
  indent: string,
  unit = '  ',
  argument?: string,
): string {
  const i1 = indent + unit;
  const i2 = i1 + unit;
  const i3 = i2 + unit;
  const lines: string[] = [];
  const formals = [...(parts.label ? ['config', 'lib'] : []), ...(argument ? [argument] : [])];
  lines.push(`${indent}${PIN_COMMENT}`);
  lines.push(formals.length > 0 ? `${indent}({ ${formals.join(', ')}, ... }: {` : `${indent}{`);
  if (parts.revision) lines.push(`${i1}system.configurationRevision = ${self}.rev or ${self}.dirtyRev or null;`);
  if (parts.label) {
    lines.push(
      `${i1}system.nixos.label = lib.concatStringsSep "-" (`,
      `${i2}lib.sort lib.lessThan config.system.nixos.tags`,
      `${i2}++ [ config.system.nixos.version ]`,
      `${i2}++ lib.optional (${self} ? shortRev || ${self} ? dirtyShortRev) (`,
      `${i3}lib.concatMapStrings (c: if builtins.match "[a-zA-Z0-9:_.-]" c == null then "_" else c) (`,
      `${i3}${unit}lib.stringToCharacters (${self}.shortRev or ${self}.dirtyShortRev)`,
      `${i3})`,
      `${i2})`,
      `${i1});`,
    );
  }
  lines.push(formals.length > 0 ? `${indent}})` : `${indent}}`);
  return lines.join('\n');
}

/** A definition of one of the two options, found from a host. */
interface Existing {
  where: string;
  conditional: boolean;
}

/** The project's files as the planner reads them (absolute path -> text). */
export type FlakeFiles = ReadonlyMap<string, string>;

/** Parsed files shared by the discovery and the module walk (one parse per file). */
class Files {
  private readonly parsed = new Map<string, ParsedFile & SourceFile>();
  constructor(
    readonly dir: string,
    private readonly texts: FlakeFiles,
  ) {}

  get(p: string): (ParsedFile & SourceFile) | undefined {
    const hit = this.parsed.get(p);
    if (hit) return hit;
    const text = this.texts.get(p);
    if (text === undefined) return undefined;
    const result = parse(text);
    const file = { path: p, text, root: result.root, lines: new LineIndex(text), errorCount: result.errors.length };
    this.parsed.set(p, file);
    return file;
  }

  /** The file of a module path (`./hosts/a` is `./hosts/a/default.nix`). */
  module(p: string): (ParsedFile & SourceFile) | undefined {
    return this.get(p) ?? (p.endsWith('.nix') ? undefined : this.get(path.join(p, 'default.nix')));
  }

  rel(p: string): string {
    return path.relative(this.dir, p).split(path.sep).join('/') || path.basename(p);
  }

  where(file: SourceFile, offset: number): string {
    return `${this.rel(file.path)}:${new LineIndex(file.text).positionAt(offset).line + 1}`;
  }

  /** The first syntax error of a file, as `file:line:column: message`. */
  syntaxError(file: ParsedFile): string | undefined {
    if (file.errorCount === 0) return undefined;
    const e = parse(file.text).errors[0]!;
    const p = new LineIndex(file.text).positionAt(e.start);
    return `${this.rel(file.path)}:${p.line + 1}:${p.character + 1}: ${e.message}`;
  }

  keys(): string[] {
    return [...this.texts.keys()];
  }
}

/** What pin finds for one host before editing anything. */
interface HostPlan {
  host: DiscoveredHost;
  report: PinHost;
  revision?: Existing;
  label?: Existing;
  /** Every definition found (the first is `revision` / `label`). */
  allRevisions: Existing[];
  allLabels: Existing[];
  /** A module file that does not parse, reached from this host. */
  broken?: string;
}

/**
 * Every definition of the revision and the label reachable from a host: its modules, their imports, `mkIf` and
 * `mkMerge` included. Stops at modules it cannot follow (the host is then incomplete).
 */
function existingDefinitions(plan: HostPlan, files: Files): boolean {
  const queue: ModuleRef[] = [];
  const anchor = plan.host.argSet?.node ?? plan.host.builder?.call;
  let complete = plan.host.complete;
  for (const m of plan.host.modules) {
    if (m.kind === 'file' && anchor) queue.push({ kind: 'file', path: m.path, node: anchor });
    else if (m.kind === 'inline') {
      const file = files.get(m.file.path);
      if (file) queue.push({ kind: 'inline', node: m.node, file });
    }
  }
  const seen = new Set<string | SyntaxNode>();
  for (let i = 0; i < queue.length && i < 5000; i++) {
    const ref = queue[i]!;
    if (ref.kind === 'unknown') {
      complete = false;
      continue;
    }
    if (ref.kind === 'external') continue;
    let file: ParsedFile | undefined;
    let node: SyntaxNode;
    if (ref.kind === 'inline') {
      if (seen.has(ref.node)) continue;
      seen.add(ref.node);
      file = ref.file;
      node = ref.node;
    } else {
      file = files.module(ref.path);
      if (!file) {
        complete = false;
        continue;
      }
      if (seen.has(file.path)) continue;
      seen.add(file.path);
      node = file.root;
      if (/[\0\uFFFD]/.test(file.text)) {
        // an encrypted file (git-crypt, agenix in place): pin cannot look inside it
        complete = false;
        continue;
      }
      const broken = files.syntaxError(file);
      if (broken && !plan.broken) plan.broken = broken;
    }
    const info = analyzeModule(file, node);
    for (const d of info.defs) {
      if (d.key !== REVISION_KEY && d.key !== LABEL_KEY) continue;
      const found: Existing = { where: files.where(file as SourceFile, d.name.start), conditional: d.conditional };
      if (d.key === REVISION_KEY) {
        plan.revision ??= found;
        plan.allRevisions.push(found);
      } else {
        plan.label ??= found;
        plan.allLabels.push(found);
      }
    }
    queue.push(...info.imports);
  }
  return complete;
}

/**
 * Definitions of the two options anywhere in the project, however deep (`flake.modules.nixos.base = { ... }:
 * { system.configurationRevision = ...; }`): for hosts whose modules pin cannot all follow.
 */
function definitionsAnywhere(files: Files): { revision?: Existing; label?: Existing } {
  const out: { revision?: Existing; label?: Existing } = {};
  const endsWith = (p: readonly string[], tail: readonly string[]) =>
    p.length >= tail.length && tail.every((n, i) => p[p.length - tail.length + i] === n);
  for (const p of files.keys()) {
    const file = files.get(p);
    if (!file || !/configurationRevision|label/.test(file.text)) continue;
    for (const b of collectBindings(file.root, { anywhere: true })) {
      const revision = endsWith(b.path, ['system', 'configurationRevision']);
      if (!revision && !endsWith(b.path, ['system', 'nixos', 'label'])) continue;
      const found: Existing = {
        where: files.where(file, b.keyStart),
        conditional: b.wrappers.some((w) => w.name === 'mkIf'),
      };
      if (revision) out.revision ??= found;
      else out.label ??= found;
    }
  }
  return out;
}

/** How the module written at `at` (in `file`) can read the flake's `self`. */
type SelfAccess = { expr: string; argument?: string; addSelfFormal?: boolean } | { refused: string };

function selfAccess(at: SyntaxNode, file: SourceFile, isFlake: boolean, hosts: HostPlan[], files: Files): SelfAccess {
  if (isFlake) {
    const outputs = flakeOutputs(file.root);
    if (outputs && at.start >= outputs.node.start && at.end <= outputs.node.end) {
      if (outputs.param) return { expr: `${outputs.param}.self` };
      if (outputs.formals.some((f) => f.name === 'self')) return { expr: 'self' };
      if (outputs.bind) return { expr: `${outputs.bind}.self` };
      return { expr: 'self', addSelfFormal: true };
    }
  }
  // A helper: `self` or `inputs` in scope where the module is written
  for (const name of ['self', 'inputs']) {
    const source = resolveVariable(name, at);
    if (source.kind === 'argument' || source.kind === 'let' || source.kind === 'rec')
      return { expr: name === 'self' ? 'self' : 'inputs.self' };
  }
  // Else through the module arguments every host of this builder passes
  if (hosts.every((h) => h.host.specialArgs.has('self'))) return { expr: 'self', argument: 'self' };
  if (hosts.every((h) => h.host.specialArgs.has('inputs'))) return { expr: 'inputs.self', argument: 'inputs' };
  // nixos-unified gives modules `flake` (`flake.inputs`)
  if (hosts.every((h) => h.host.specialArgs.has('flake'))) return { expr: 'flake.inputs.self', argument: 'flake' };
  return {
    refused: `${files.where(file, at.start)} cannot see the flake's self (not in scope, and specialArgs does not pass self or inputs): add \`specialArgs = { inherit inputs; };\` to this nixosSystem call, or add the module by hand`,
  };
}

/** Edits adding `item` (a module expression, or the name of the let binding holding it) to a builder's modules. */
function addToModules(
  text: string,
  argSet: SyntaxNode,
  item: (indent: string) => string,
  unit: string,
  key: readonly string[] = ['modules'],
): Edit[] {
  const edits: Edit[] = [];
  // A one-line item (the name of the let binding) keeps one-line lists on one line.
  const short = item('');
  const oneLine = !short.includes('\n') ? short : undefined;
  const modulesEntry = argSet.kind === 'List' ? undefined : getAttr(argSet, key);
  const value = argSet.kind === 'List' ? argSet : modulesEntry ? unparen(modulesEntry.value) : undefined;
  let list: SyntaxNode | undefined = value;
  while (list && list.kind === 'BinOp' && childToken(list, 'Concat')) list = unparen(childNodes(list)[1]);
  // `with inputs; [ ... ]`: the list is the body
  if (list && list.kind === 'With') list = unparen(childNodes(list)[1]);
  if (argSet.kind !== 'List' && (!modulesEntry || !modulesEntry.value)) {
    // no modules at all: add the binding before the closing brace of the argument
    const close = childToken(argSet, 'RBrace');
    if (!close) return edits;
    const first = childNodes(argSet)[0];
    const bindingIndent = indentAt(text, first?.start ?? close.start);
    const inner = onlySpaceBefore(text, first?.start ?? close.start)
      ? bindingIndent
      : indentAt(text, close.start) + unit;
    const insert = oneLine
      ? `${inner}${key.join('.')} = [ ${oneLine} ];\n`
      : `${inner}${key.join('.')} = [\n${item(inner + unit)}\n${inner}];\n`;
    if (onlySpaceBefore(text, close.start)) {
      const lineStart = text.lastIndexOf('\n', close.start - 1) + 1;
      edits.push({ start: lineStart, end: lineStart, text: insert });
    } else {
      let from = close.start;
      while (from > argSet.start && /[ \t]/.test(text[from - 1]!)) from--;
      edits.push({ start: from, end: close.start, text: `\n${insert}${indentAt(text, close.start)}` });
    }
  } else if (list && list.kind === 'List') {
    const close = childToken(list, 'RBrack');
    if (!close) return edits;
    const elements = childNodes(list);
    const open = childToken(list, 'LBrack')!;
    const closeIndent = indentAt(text, close.start);
    const firstOnOwnLine = elements[0] !== undefined && onlySpaceBefore(text, elements[0].start);
    const itemIndent = firstOnOwnLine ? indentAt(text, elements[0]!.start) : indentAt(text, open.start) + unit;
    const module = item(itemIndent);
    if (oneLine && !text.slice(open.end, close.start).includes('\n')) {
      const last = elements[elements.length - 1];
      const at = last ? last.end : open.end;
      edits.push({ start: at, end: at, text: ` ${oneLine}` });
    } else if (onlySpaceBefore(text, close.start)) {
      const lineStart = text.lastIndexOf('\n', close.start - 1) + 1;
      edits.push({ start: lineStart, end: lineStart, text: `${module}\n` });
    } else {
      // `[ ./a.nix ]` on one line: one element per line, then the module, then the bracket
      const bracketIndent = onlySpaceBefore(text, open.start) ? indentAt(text, open.start) : closeIndent;
      const between = text.slice(open.end, close.start);
      const hasComment = /#|\/\*/.test(between.replace(/"(?:[^"\\]|\\.)*"/g, '""'));
      if (!hasComment && !firstOnOwnLine && !between.includes('\n')) {
        const items = elements.map((e) => `${itemIndent}${text.slice(e.start, e.end)}\n`).join('');
        edits.push({ start: open.end, end: close.start, text: `\n${items}${module}\n${bracketIndent}` });
      } else {
        let from = close.start;
        while (from > open.end && /[ \t]/.test(text[from - 1]!)) from--;
        edits.push({ start: from, end: close.start, text: `\n${module}\n${bracketIndent}` });
      }
    }
  } else if (value && modulesEntry) {
    // `modules = common;` or `modules = import ./m.nix args;`: append a list
    const simple = ['Ident', 'Select', 'Apply', 'List', 'Paren', 'BinOp'].includes(value.kind);
    const indent = indentAt(text, modulesEntry.binding.start);
    const module = item(indent + unit);
    if (!simple) edits.push({ start: value.start, end: value.start, text: '(' });
    const list = oneLine ? `[ ${oneLine} ]` : `[\n${module}\n${indent}]`;
    edits.push({ start: value.end, end: value.end, text: `${simple ? '' : ')'} ++ ${list}` });
  }
  return edits;
}

/** Edits adding `self` to the outputs' formals (`{ nixpkgs, ... }:` -> `{ self, nixpkgs, ... }:`). */
function addSelfFormal(text: string, root: SyntaxNode): Edit[] {
  const outputs = flakeOutputs(root);
  if (!outputs) return [];
  const lines = new LineIndex(text);
  const first = outputs.formals[0]?.node ?? (outputs.pattern ? childToken(outputs.pattern, 'Ellipsis') : undefined);
  if (first && outputs.openBrace) {
    const sameLine = lines.positionAt(first.start).line === lines.positionAt(outputs.openBrace.start).line;
    return [
      { start: first.start, end: first.start, text: sameLine ? 'self, ' : `self,\n${indentAt(text, first.start)}` },
    ];
  }
  if (outputs.openBrace && outputs.closeBrace)
    return [{ start: outputs.openBrace.end, end: outputs.closeBrace.start, text: ' self, ... ' }];
  return [];
}

/** A file's expression under its function heads (`{ inputs, ... }: { ... }` -> `{ ... }`). */
function topBody(root: SyntaxNode): SyntaxNode | undefined {
  let n = unparen(rootExpr(root));
  for (let i = 0; n && n.kind === 'Lambda' && i < 16; i++) n = unparen(childNodes(n)[childNodes(n).length - 1]);
  return n;
}

/**
 * The edit binding the module once around `body` (the outputs of flake.nix, or a helper file's expression): into
 * the `let` it starts with, or a new `let ... in` around it.
 */
function letBindingEdit(text: string, body: SyntaxNode, module: (indent: string) => string, unit: string): Edit[] {
  if (body.kind === 'LetIn') {
    const firstBinding = childNodes(body).find((n) => n.kind === 'Binding' || n.kind === 'Inherit');
    const letToken = childToken(body, 'KwLet')!;
    if (firstBinding && onlySpaceBefore(text, firstBinding.start)) {
      const indent = indentAt(text, firstBinding.start);
      const lineStart = text.lastIndexOf('\n', firstBinding.start - 1) + 1;
      return [{ start: lineStart, end: lineStart, text: `${indent}${PIN_BINDING} =\n${module(indent + unit)};\n` }];
    }
    const indent = indentAt(text, letToken.start) + unit;
    return [{ start: letToken.end, end: letToken.end, text: `\n${indent}${PIN_BINDING} =\n${module(indent + unit)};` }];
  }
  const indent = indentAt(text, body.start);
  const at = onlySpaceBefore(text, body.start) ? text.lastIndexOf('\n', body.start - 1) + 1 : body.start;
  const prefix = onlySpaceBefore(text, body.start) ? indent : '';
  const head = `${prefix}let\n${indent}${unit}${PIN_BINDING} =\n${module(indent + unit + unit)};\n${indent}in\n`;
  return [{ start: at, end: at, text: onlySpaceBefore(text, body.start) ? head : `\n${head}${indent}` }];
}

function applyEdits(text: string, edits: Edit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/**
 * Plans the pin edit of the flake whose flake.nix is `flakePath`, given the project's .nix files (absolute path ->
 * text; flake.nix among them). Pure: nothing is read or written.
 */
export function planPin(flakePath: string, texts: FlakeFiles): PinResult {
  const dir = path.dirname(flakePath);
  const files = new Files(dir, texts);
  const flake = files.get(flakePath);
  const flakeText = flake?.text ?? '';
  const fileName = files.rel(flakePath);
  const result = (status: PinStatus, messages: string[], hosts: PinHost[] = [], edits: PinFileEdit[] = []) => {
    const own = edits.find((e) => e.file === flakePath);
    return {
      status,
      file: flakePath,
      before: flakeText,
      after: own ? own.after : flakeText,
      diff: edits.map((e) => e.diff).join(''),
      edits,
      messages,
      hosts,
    } satisfies PinResult;
  };
  if (!flake) return result('refused', [`cannot read ${flakePath}`]);
  const broken = files.syntaxError(flake);
  if (broken) {
    return result('refused', [
      broken,
      `${fileName} does not parse${flake.errorCount > 1 ? ` (${flake.errorCount} errors)` : ''}; fix it first: nothing was changed.`,
    ]);
  }
  if (!flakeOutputs(flake.root)) {
    return result('refused', [`${fileName} has no \`outputs = { self, ... }: ...\` function; nothing was changed.`]);
  }
  const unit = unitIndent(flakeText);
  const manual = [
    'Add this module to each host by hand:',
    pinModuleText('self', { revision: true, label: true }, '  ', unit),
  ];
  const found = discoverHosts(flakePath, sourceTreeOf(new Map(files.keys().map((p) => [p, files.get(p)!]))));
  const nixosHosts = found.hosts.filter((h) => h.kind === 'nixos');
  if (nixosHosts.length === 0) {
    const why = found.unresolved.length > 0 ? found.unresolved : found.hosts.flatMap((h) => h.gaps);
    return result('refused', [
      `no \`nixosSystem { modules = [ ... ]; }\` host was found in ${fileName}${why.length ? `: ${why.join('; ')}` : ''}; nothing was changed.`,
      ...manual,
    ]);
  }

  const messages: string[] = [];
  for (const u of found.unresolved) messages.push(`not followed: ${u}`);
  const anywhere = definitionsAnywhere(files);
  const plans: HostPlan[] = nixosHosts.map((host) => {
    const report: PinHost = {
      name: host.name,
      line: host.builder?.line ?? 0,
      revision: 'skipped',
      label: 'skipped',
    };
    if (host.builder) report.builderFile = files.rel(host.builder.file.path);
    return { host, report, allRevisions: [], allLabels: [] };
  });
  for (const plan of plans) {
    const complete = existingDefinitions(plan, files);
    if (plan.broken) {
      return result('refused', [
        plan.broken,
        `${plan.broken.split(':')[0]} (a module of ${plan.host.name}) does not parse; fix it first: nothing was changed.`,
      ]);
    }
    if (!complete) {
      // Modules pin cannot follow may set them: a definition anywhere in the project counts (never a second one).
      plan.revision ??= anywhere.revision
        ? { ...anywhere.revision, where: `${anywhere.revision.where} (maybe)` }
        : undefined;
      plan.label ??= anywhere.label ? { ...anywhere.label, where: `${anywhere.label.where} (maybe)` } : undefined;
    }
    const notes: string[] = [];
    const describe = (what: string, e: Existing) =>
      `${what} already set at ${e.where}${e.conditional ? ' (under a condition)' : ''}`;
    if (plan.revision) notes.push(describe('configurationRevision', plan.revision));
    if (plan.label) notes.push(describe('label', plan.label));
    if (notes.length > 0) plan.report.note = notes.join('; ');
    plan.report.revision = plan.revision ? 'present' : 'skipped';
    plan.report.label = plan.label ? 'present' : 'skipped';
  }

  // One edit per builder call (a helper shared by several hosts is edited once).
  const sites = new Map<SyntaxNode, HostPlan[]>();
  // Every host sharing a builder counts (also those pinned already: the helper's module would reach them too).
  for (const plan of plans) {
    // The builder's argument as written, else the modules list where it is written (`nixosSystem (args // { ... })`
    // with `modules = [ ... ]` in the caller's argument)
    const argSet = plan.host.argSet ?? plan.host.modulesList;
    if (!argSet) {
      if (plan.revision && plan.label) continue;
      const why = plan.host.builder
        ? `the argument of ${plan.host.builder.name} at ${files.rel(plan.host.builder.file.path)}:${plan.host.builder.line} is not written as { ... }`
        : (plan.host.gaps[0] ?? 'its builder is not followed');
      plan.report.note = [plan.report.note, `${plan.host.name}: ${why}; add the module by hand`]
        .filter(Boolean)
        .join('; ');
      messages.push(`${plan.host.name}: ${why}; add the module by hand`);
      continue;
    }
    const list = sites.get(argSet.node);
    if (list) list.push(plan);
    else sites.set(argSet.node, [plan]);
  }

  type Site = { node: SyntaxNode; file: SourceFile; plans: HostPlan[]; parts: { revision: boolean; label: boolean } };
  const ready: Site[] = [];
  for (const [node, group] of sites) {
    const file = (group[0]!.host.argSet ?? group[0]!.host.modulesList)!.file;
    const revision = group.every((p) => !p.revision);
    const label = group.every((p) => !p.label);
    const mixed = group.filter((p) => (!p.revision && !revision) || (!p.label && !label));
    if (mixed.length > 0) {
      const names = group.map((p) => p.host.name).join(', ');
      messages.push(
        `${names} share the builder at ${files.where(file, node.start)}, but not all of them set the same options already; pin cannot add one module for all of them: add it by hand to ${mixed.map((p) => p.host.name).join(', ')}`,
      );
    }
    if (!revision && !label) continue;
    ready.push({ node, file, plans: group, parts: { revision, label } });
  }

  // Per file: where self comes from, and whether the module is bound once in a let (flake.nix, several sites)
  const editsByFile = new Map<string, Edit[]>();
  const addEdits = (p: string, e: Edit[]) => editsByFile.set(p, [...(editsByFile.get(p) ?? []), ...e]);
  const newFiles = new Map<string, string>();
  const full = (site: Site) => site.parts.revision && site.parts.label;
  const accessOf = new Map<Site, SelfAccess>();
  for (const site of ready)
    accessOf.set(site, selfAccess(site.node, site.file, site.file.path === flakePath, site.plans, files));
  const lexical = (site: Site) => {
    const a = accessOf.get(site)!;
    return 'expr' in a && !a.argument;
  };
  // Written once: in a file of its own when builder calls sit in several files (each imports it with its self),
  // else in a `let` of the one file holding several calls, else inline.
  const siteFiles = new Set(ready.map((s) => s.file.path));
  const ownFile = path.join(dir, PIN_FILE);
  const ownFileRel = files.rel(ownFile);
  const useOwnFile = siteFiles.size > 1 && ready.filter((s) => full(s) && lexical(s)).length > 1 && !texts.has(ownFile);
  if (useOwnFile) newFiles.set(ownFile, `self:\n${pinModuleText('self', { revision: true, label: true }, '', unit)}\n`);
  const letFiles = new Set<string>();
  if (!useOwnFile) {
    for (const p of siteFiles) {
      const here = ready.filter((s) => s.file.path === p);
      const exprs = new Set(
        here.map((s) => ('expr' in accessOf.get(s)! ? (accessOf.get(s) as { expr: string }).expr : '')),
      );
      if (here.length > 1 && here.every((s) => full(s) && lexical(s)) && exprs.size === 1) letFiles.add(p);
    }
  }
  let selfAdded = false;
  for (const p of letFiles) {
    const file = files.get(p)!;
    const access = accessOf.get(ready.find((s) => s.file.path === p)!) as { expr: string };
    const body = p === flakePath ? flakeOutputs(file.root)?.body : topBody(file.root);
    const fileUnit = unitIndent(file.text);
    const edits = body
      ? letBindingEdit(
          file.text,
          body,
          (indent) => pinModuleText(access.expr, { revision: true, label: true }, indent, fileUnit),
          fileUnit,
        )
      : [];
    if (edits.length > 0) addEdits(p, edits);
    else letFiles.delete(p);
  }
  for (const site of ready) {
    const access = accessOf.get(site)!;
    if ('refused' in access) {
      messages.push(access.refused);
      continue;
    }
    if (access.addSelfFormal && !selfAdded) {
      addEdits(flakePath, addSelfFormal(flakeText, flake.root));
      selfAdded = true;
    }
    const text = site.file.text;
    const siteUnit = unitIndent(text);
    let item = (indent: string) => pinModuleText(access.expr, site.parts, indent, siteUnit, access.argument);
    if (letFiles.has(site.file.path)) item = (indent: string) => `${indent}${PIN_BINDING}`;
    else if (useOwnFile && full(site) && !access.argument) {
      let relPath = path.relative(path.dirname(site.file.path), ownFile).split(path.sep).join('/');
      if (!relPath.startsWith('.')) relPath = `./${relPath}`;
      item = (indent: string) => `${indent}(import ${relPath} ${access.expr})`;
    }
    const edits = addToModules(text, site.node, item, siteUnit, site.plans[0]!.host.modulesKey);
    if (edits.length === 0) {
      messages.push(`${files.where(site.file, site.node.start)}: no place for the module was found; add it by hand`);
      continue;
    }
    addEdits(site.file.path, edits);
    for (const plan of site.plans) {
      if (site.parts.revision) plan.report.revision = 'added';
      if (site.parts.label) plan.report.label = 'added';
    }
  }
  if (useOwnFile)
    messages.push(
      `${ownFileRel} is a new file: \`git add ${ownFileRel}\` before you rebuild (a flake sees tracked files only)`,
    );

  const reports = plans.map((p) => p.report);
  for (const h of found.hosts.filter((h) => h.kind === 'darwin'))
    messages.push(`${h.name}: a nix-darwin host; pin edits NixOS hosts only`);
  if (editsByFile.size === 0 && newFiles.size === 0) {
    const pinned = plans.filter((p) => p.revision && p.label).length;
    return result(
      pinned > 0 || plans.every((p) => p.revision || p.label) ? 'unchanged' : 'refused',
      pinned === plans.length ? messages : [...messages, ...manual],
      reports,
    );
  }
  const fileEdits: PinFileEdit[] = [];
  const touched = [...new Set([...editsByFile.keys(), ...newFiles.keys()])].filter((k) => k !== flakePath).sort();
  for (const p of [flakePath, ...touched]) {
    const edits = editsByFile.get(p);
    const created = newFiles.get(p);
    if (!edits && created === undefined) continue;
    const before = created !== undefined ? '' : files.get(p)!.text;
    const after = created !== undefined ? created : applyEdits(before, edits!);
    const check = parse(after);
    if (check.errors.length > 0) {
      return result('refused', [
        `the edit of ${files.rel(p)} would not parse (${check.errors[0]!.message}); this is a bug in nixos-generations, nothing was changed`,
      ]);
    }
    let diff = unifiedDiff(before, after, files.rel(p));
    if (created !== undefined) diff = diff.replace(/^--- a\/.*\n/, '--- /dev/null\n');
    fileEdits.push({ file: p, before, after, diff });
  }
  return result('changed', messages, reports, fileEdits);
}

/**
 * Every definition of `system.configurationRevision` and `system.nixos.label` reachable from each NixOS host of
 * the flake (as `file:line`), and whether all of the host's modules could be followed: what "one definition per
 * host" is checked against.
 */
export function pinDefinitions(
  flakePath: string,
  texts: FlakeFiles,
): { host: string; revision: string[]; label: string[]; complete: boolean }[] {
  const files = new Files(path.dirname(flakePath), texts);
  const found = discoverHosts(flakePath, sourceTreeOf(new Map(files.keys().map((p) => [p, files.get(p)!]))));
  return found.hosts
    .filter((h) => h.kind === 'nixos')
    .map((host) => {
      const plan: HostPlan = {
        host,
        report: { name: host.name, line: 0, revision: 'skipped', label: 'skipped' },
        allRevisions: [],
        allLabels: [],
      };
      const complete = existingDefinitions(plan, files);
      return {
        host: host.name,
        revision: plan.allRevisions.map((e) => e.where),
        label: plan.allLabels.map((e) => e.where),
        complete,
      };
    });
}

/**
 * Plans the pin edit of a flake.nix text with the given module files (paths relative to the flake), as if they
 * were a flake directory; for tests and previews.
 */
export function planPinEdit(
  text: string,
  options: { fileName?: string; files?: Record<string, string> } = {},
): PinResult {
  const dir = path.resolve('/nonexistent-flake');
  const texts = new Map<string, string>();
  for (const [rel, t] of Object.entries(options.files ?? {})) texts.set(path.join(dir, rel), t);
  const flakePath = path.join(dir, options.fileName ?? 'flake.nix');
  texts.set(flakePath, text);
  const r = planPin(flakePath, texts);
  const relative = (p: string) => path.relative(dir, p);
  return { ...r, file: relative(r.file), edits: r.edits.map((e) => ({ ...e, file: relative(e.file) })) };
}

const MAX_FILE_BYTES = 4 * 1024 * 1024;

/** The .nix files of a flake directory (the same listing as the lint), read; oversized files left out. */
export async function readFlakeFiles(dir: string): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  for (const f of await listNixFiles(dir)) {
    try {
      const st = await fsp.stat(f);
      if (st.isFile() && st.size <= MAX_FILE_BYTES) texts.set(f, await fsp.readFile(f, 'utf8'));
    } catch {
      // gone meanwhile: not part of the flake any more
    }
  }
  return texts;
}

/**
 * Pins the flake in `dir` (a directory holding flake.nix, or the flake.nix itself). With `dryRun` nothing is
 * written. A directory with configuration.nix but no flake.nix gets `not-a-flake` and the impure route.
 */
export async function pinFlake(target: string, options: { dryRun?: boolean } = {}): Promise<PinResult> {
  const resolved = path.resolve(target);
  const stat = await fsp.stat(resolved).catch(() => null);
  const dir = stat?.isFile() ? path.dirname(resolved) : resolved;
  const flakeFile = stat?.isFile() ? resolved : path.join(dir, 'flake.nix');
  const empty = (status: PinStatus, file: string, messages: string[]): PinResult => ({
    status,
    file,
    before: '',
    after: '',
    diff: '',
    edits: [],
    messages,
    hosts: [],
  });
  let text: string;
  try {
    text = await fsp.readFile(flakeFile, 'utf8');
  } catch {
    const classic = await fsp.stat(path.join(dir, 'configuration.nix')).catch(() => null);
    if (classic) return empty('not-a-flake', path.join(dir, 'configuration.nix'), [NON_FLAKE_EXPLANATION]);
    return empty('refused', flakeFile, [`no flake.nix in ${dir}`]);
  }
  const texts = await readFlakeFiles(dir);
  texts.set(flakeFile, text);
  const plan = planPin(flakeFile, texts);
  if (plan.status === 'changed' && !options.dryRun) {
    for (const e of plan.edits) {
      const current = await fsp.readFile(e.file, 'utf8').catch(() => null);
      if (current !== (e.before === '' && current === null ? null : e.before)) {
        return { ...plan, status: 'refused', messages: [`${e.file} changed while it was being edited; run again`] };
      }
    }
    for (const e of plan.edits) {
      const mode = e.before === '' ? 0o644 : (await fsp.stat(e.file)).mode & 0o7777;
      const tmp = path.join(path.dirname(e.file), `.${path.basename(e.file)}.nixos-generations-${process.pid}.tmp`);
      await fsp.writeFile(tmp, e.after, { mode });
      await fsp.rename(tmp, e.file);
    }
  }
  return plan;
}

/**
 * The `nixosConfigurations` names written in a flake.nix (`nixosConfigurations.box = ...`,
 * `nixosConfigurations = { a = ...; b = ...; }`), sorted; null when the file does not parse or builds the set
 * dynamically (then ask `nix eval`).
 */
export function flakeHostNames(text: string): string[] | null {
  const parsed = parse(text);
  if (parsed.errors.length > 0) return null;
  const names = new Set<string>();
  let dynamic = false;
  walkNodes(parsed.root, (node) => {
    if (node.kind !== 'Binding') return undefined;
    const key = childNode(node, 'Attrpath');
    const pathNames = key ? staticAttrPath(key) : undefined;
    if (!pathNames) return undefined;
    const at = pathNames.indexOf('nixosConfigurations');
    if (at < 0) return undefined;
    if (at + 1 < pathNames.length) {
      names.add(pathNames[at + 1]!);
      return false;
    }
    const value = unparen(childNodes(node)[childNodes(node).length - 1]);
    if (value && value.kind === 'AttrSet') {
      for (const entry of childNodes(value)) {
        if (entry.kind !== 'Binding' && entry.kind !== 'Inherit') continue;
        if (entry.kind === 'Inherit') {
          for (const n of childNodes(entry)) if (n.kind !== 'InheritFrom' && n.kind === 'Ident') names.add(textOf(n));
          continue;
        }
        const k = childNode(entry, 'Attrpath');
        const first = k ? staticAttrPath(k)?.[0] : undefined;
        if (first !== undefined) names.add(first);
        else dynamic = true;
      }
    } else {
      dynamic = true;
    }
    return false;
  });
  if (names.size === 0 && dynamic) return null;
  return names.size === 0 && !dynamic ? [] : [...names].sort();
}

function textOf(node: SyntaxNode): string {
  return node.children
    .map((c) => (c.isToken && c.kind !== 'Whitespace' && c.kind !== 'Comment' ? c.text : ''))
    .join('');
}

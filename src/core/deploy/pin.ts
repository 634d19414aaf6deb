/**
 * Pinning the git commit into every future generation: an edit of flake.nix that adds, to each
 * `nixosSystem { modules = [ ... ]; }`, a module setting `system.configurationRevision` from
 * `self.rev or self.dirtyRev` and `system.nixos.label` ending in the short revision (sanitised to the label's
 * `[a-zA-Z0-9:_.-]`). Minimal text edits on the parser's lossless tree; a second run changes nothing; a file that
 * does not parse is refused; the result is shown as a unified diff before it is written.
 */
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import {
  childNode,
  childNodes,
  childToken,
  findAttrBindings,
  findCalls,
  flakeOutputs,
  getAttr,
  LineIndex,
  parse,
  staticAttrPath,
  unparen,
  walkNodes,
  type AttrBinding,
  type Call,
  type SyntaxNode,
} from '../nix';
import { unifiedDiff } from './diff';

export type PinStatus = 'changed' | 'unchanged' | 'refused' | 'not-a-flake';

export interface PinHost {
  /** The nixosConfigurations name, when the call is bound to one; null inside a helper function. */
  name: string | null;
  /** 1-based line of the nixosSystem call. */
  line: number;
  revision: 'added' | 'present' | 'skipped';
  label: 'added' | 'present' | 'skipped';
  /** Where an existing setting was found, or why the host was skipped. */
  note?: string;
}

export interface PinResult {
  status: PinStatus;
  /** flake.nix (or the file that was looked at). */
  file: string;
  before: string;
  after: string;
  /** Unified diff; '' when nothing changes. */
  diff: string;
  /** What the user should read (errors for `refused`, the impure route for `not-a-flake`). */
  messages: string[];
  hosts: PinHost[];
}

const REVISION_PATH = ['system', 'configurationRevision'];
const LABEL_PATH = ['system', 'nixos', 'label'];
export const PIN_COMMENT = '# nixos-generations: record the git commit in every generation (pin)';

/** How to pin without flakes: there is no `self.rev`, and guessing an edit of configuration.nix would be blind. */
export const NON_FLAKE_EXPLANATION = [
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

/** Reads a module file named by a relative path in the flake (a directory means its default.nix); null if absent. */
export type ModuleReader = (relativePath: string) => string | null;

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

/** The module text, its lines indented by `indent` (the first line included). */
export function pinModuleText(
  self: string,
  parts: { revision: boolean; label: boolean },
  indent: string,
  unit = '  ',
): string {
  const i1 = indent + unit;
  const i2 = i1 + unit;
  const i3 = i2 + unit;
  const lines: string[] = [];
  lines.push(`${indent}${PIN_COMMENT}`);
  lines.push(parts.label ? `${indent}({ config, lib, ... }: {` : `${indent}{`);
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
  lines.push(parts.label ? `${indent}})` : `${indent}}`);
  return lines.join('\n');
}

function hostName(call: Call): string | null {
  for (let p = call.node.parent; p; p = p.parent) {
    if (p.kind === 'Lambda') return null;
    if (p.kind === 'Binding') {
      const key = childNode(p, 'Attrpath');
      const names = key ? staticAttrPath(key) : undefined;
      if (!names) return null;
      const at = names.indexOf('nixosConfigurations');
      if (at >= 0 && at + 1 < names.length) return names[at + 1]!;
      // `nixosConfigurations = { box = ...; }`: the binding of `box`, whose parent set belongs to nixosConfigurations
      return names[names.length - 1]!;
    }
  }
  return null;
}

/** The relative module paths (`./hosts/box`) written in a modules expression (lists and `++` of lists). */
function modulePaths(value: SyntaxNode | undefined): string[] {
  const out: string[] = [];
  if (!value) return out;
  walkNodes(value, (node) => {
    if (node.kind === 'Lambda' || node.kind === 'AttrSet') return false;
    if (node.kind === 'Path') {
      const text = node.children.map((c) => (c.isToken ? c.text : '\0')).join('');
      if (!text.includes('\0') && (text.startsWith('./') || text.startsWith('../'))) out.push(text);
      return false;
    }
    return undefined;
  });
  return out;
}

function inside(b: AttrBinding, node: SyntaxNode): boolean {
  return b.keyStart >= node.start && b.keyEnd <= node.end;
}

function where(lines: LineIndex, file: string, offset: number): string {
  return `${file}:${lines.positionAt(offset).line + 1}`;
}

/**
 * Plans the pin edit of a flake.nix text (pure, apart from reading module files through `readModule`). The result's
 * `after` is the edited text; `status` says whether anything changes.
 */
export function planPinEdit(text: string, options: { fileName?: string; readModule?: ModuleReader } = {}): PinResult {
  const file = options.fileName ?? 'flake.nix';
  const lines = new LineIndex(text);
  const result = (status: PinStatus, messages: string[], hosts: PinHost[] = [], after = text): PinResult => ({
    status,
    file,
    before: text,
    after,
    diff: unifiedDiff(text, after, file),
    messages,
    hosts,
  });
  const parsed = parse(text);
  if (parsed.errors.length > 0) {
    const e = parsed.errors[0]!;
    const p = lines.positionAt(e.start);
    return result('refused', [
      `${file}:${p.line + 1}:${p.character + 1}: ${e.message}`,
      `${file} does not parse${parsed.errors.length > 1 ? ` (${parsed.errors.length} errors)` : ''}; fix it first: nothing was changed.`,
    ]);
  }
  const root = parsed.root;
  const outputs = flakeOutputs(root);
  if (!outputs) {
    return result('refused', [`${file} has no \`outputs = { self, ... }: ...\` function; nothing was changed.`]);
  }

  const edits: Edit[] = [];
  const messages: string[] = [];
  const hosts: PinHost[] = [];
  const unit = unitIndent(text);

  // How `self` is spelled inside outputs.
  let self = 'self';
  let addSelf = false;
  if (outputs.param) self = `${outputs.param}.self`;
  else if (!outputs.formals.some((f) => f.name === 'self')) {
    if (outputs.bind) self = `${outputs.bind}.self`;
    else addSelf = true;
  }

  const calls = findCalls(root, 'nixosSystem').filter((c) => {
    // `self` must be in scope: only calls inside the outputs function.
    return c.node.start >= outputs.node.start && c.node.end <= outputs.node.end;
  });
  if (calls.length === 0) {
    return result('refused', [
      `no \`nixosSystem { modules = [ ... ]; }\` call was found in the outputs of ${file} (hosts built by a helper in another file, flake-parts, ...), so nothing was changed.`,
      'Add this module to each host by hand:',
      pinModuleText('self', { revision: true, label: true }, '  ', unit),
    ]);
  }
  if (addSelf) {
    const first = outputs.formals[0]?.node ?? (outputs.pattern ? childToken(outputs.pattern, 'Ellipsis') : undefined);
    if (first && outputs.openBrace) {
      const sameLine = lines.positionAt(first.start).line === lines.positionAt(outputs.openBrace.start).line;
      edits.push({
        start: first.start,
        end: first.start,
        text: sameLine ? 'self, ' : `self,\n${indentAt(text, first.start)}`,
      });
    } else if (outputs.openBrace && outputs.closeBrace) {
      edits.push({ start: outputs.openBrace.end, end: outputs.closeBrace.start, text: ' self, ... ' });
    }
  }

  const revisions = findAttrBindings(root, REVISION_PATH, { anywhere: true });
  const labels = findAttrBindings(root, LABEL_PATH, { anywhere: true });
  const outsideCalls = (b: AttrBinding) => !calls.some((c) => inside(b, c.node));
  const globalRevision = revisions.find(outsideCalls);
  const globalLabel = labels.find(outsideCalls);

  for (const call of calls) {
    const line = lines.positionAt(call.node.start).line + 1;
    const host: PinHost = { name: hostName(call), line, revision: 'skipped', label: 'skipped' };
    hosts.push(host);
    const arg = unparen(call.args[call.args.length - 1]);
    if (!arg || arg.kind !== 'AttrSet') {
      host.note = `the argument of nixosSystem at ${file}:${line} is not written as { ... } here; add the module by hand`;
      messages.push(host.note);
      continue;
    }
    const modulesEntry = getAttr(arg, ['modules']);

    // Already there? In this call, in the flake outside any call, or in a module file this host imports.
    let revisionAt = revisions.find((b) => inside(b, call.node)) ?? globalRevision;
    let labelAt = labels.find((b) => inside(b, call.node)) ?? globalLabel;
    let revisionNote = revisionAt ? where(lines, file, revisionAt.keyStart) : undefined;
    let labelNote = labelAt ? where(lines, file, labelAt.keyStart) : undefined;
    for (const rel of modulePaths(modulesEntry?.value)) {
      if (revisionNote && labelNote) break;
      const moduleText = options.readModule?.(rel) ?? null;
      if (moduleText === null) continue;
      const mod = parse(moduleText);
      if (mod.errors.length > 0) {
        const e = mod.errors[0]!;
        const p = new LineIndex(moduleText).positionAt(e.start);
        return result('refused', [
          `${rel}:${p.line + 1}:${p.character + 1}: ${e.message}`,
          `${rel} (a module of ${host.name ?? `the nixosSystem call at line ${line}`}) does not parse; fix it first: nothing was changed.`,
        ]);
      }
      const modLines = new LineIndex(moduleText);
      if (!revisionNote) {
        revisionAt = findAttrBindings(mod.root, REVISION_PATH)[0];
        if (revisionAt) revisionNote = `${rel}:${modLines.positionAt(revisionAt.keyStart).line + 1}`;
      }
      if (!labelNote) {
        labelAt = findAttrBindings(mod.root, LABEL_PATH)[0];
        if (labelAt) labelNote = `${rel}:${modLines.positionAt(labelAt.keyStart).line + 1}`;
      }
    }
    const needRevision = !revisionNote;
    const needLabel = !labelNote;
    host.revision = needRevision ? 'added' : 'present';
    host.label = needLabel ? 'added' : 'present';
    const notes: string[] = [];
    if (revisionNote) notes.push(`configurationRevision already set at ${revisionNote}`);
    if (labelNote) notes.push(`label already set at ${labelNote}`);
    if (notes.length > 0) host.note = notes.join('; ');
    if (!needRevision && !needLabel) continue;

    const parts = { revision: needRevision, label: needLabel };
    const value = modulesEntry ? unparen(modulesEntry.value) : undefined;
    let list: SyntaxNode | undefined = value;
    while (list && list.kind === 'BinOp' && childToken(list, 'Concat')) list = unparen(childNodes(list)[1]);
    if (!modulesEntry || !modulesEntry.value) {
      // no modules at all: add the binding before the closing brace of the argument
      const close = childToken(arg, 'RBrace');
      if (!close) continue;
      const bindingIndent = indentAt(text, modulesEntry?.binding.start ?? childNodes(arg)[0]?.start ?? close.start);
      const inner = onlySpaceBefore(text, childNodes(arg)[0]?.start ?? close.start)
        ? bindingIndent
        : indentAt(text, close.start) + unit;
      const module = pinModuleText(self, parts, inner + unit, unit);
      const insert = `${inner}modules = [\n${module}\n${inner}];\n`;
      if (onlySpaceBefore(text, close.start)) {
        const lineStart = text.lastIndexOf('\n', close.start - 1) + 1;
        edits.push({ start: lineStart, end: lineStart, text: insert });
      } else {
        let from = close.start;
        while (from > arg.start && /[ \t]/.test(text[from - 1]!)) from--;
        edits.push({ start: from, end: close.start, text: `\n${insert}${indentAt(text, close.start)}` });
      }
    } else if (list && list.kind === 'List') {
      const close = childToken(list, 'RBrack');
      if (!close) continue;
      const elements = childNodes(list);
      const open = childToken(list, 'LBrack')!;
      const closeIndent = indentAt(text, close.start);
      const firstOnOwnLine = elements[0] !== undefined && onlySpaceBefore(text, elements[0].start);
      const itemIndent = firstOnOwnLine ? indentAt(text, elements[0]!.start) : indentAt(text, open.start) + unit;
      const module = pinModuleText(self, parts, itemIndent, unit);
      if (onlySpaceBefore(text, close.start)) {
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
    } else if (value) {
      // `modules = common;` or `modules = import ./m.nix args;`: append a list
      const simple = ['Ident', 'Select', 'Apply', 'List', 'Paren', 'BinOp'].includes(value.kind);
      const indent = indentAt(text, modulesEntry.binding.start);
      const module = pinModuleText(self, parts, indent + unit, unit);
      if (!simple) edits.push({ start: value.start, end: value.start, text: '(' });
      edits.push({ start: value.end, end: value.end, text: `${simple ? '' : ')'} ++ [\n${module}\n${indent}]` });
    }
  }

  if (edits.length === 0 || hosts.every((h) => h.revision !== 'added' && h.label !== 'added')) {
    const skipped = hosts.filter((h) => h.revision === 'skipped');
    return result(skipped.length === hosts.length ? 'refused' : 'unchanged', messages, hosts);
  }
  edits.sort((a, b) => b.start - a.start);
  let after = text;
  for (const e of edits) after = after.slice(0, e.start) + e.text + after.slice(e.end);
  const check = parse(after);
  if (check.errors.length > 0) {
    return result('refused', [
      `the edit would not parse (${check.errors[0]!.message}); this is a bug in nixos-generations, nothing was changed`,
    ]);
  }
  return result('changed', messages, hosts, after);
}

/** Reads module files relative to the flake directory, refusing to leave it. */
export function moduleReaderFor(flakeDir: string): ModuleReader {
  const rootDir = path.resolve(flakeDir);
  return (relative) => {
    const target = path.resolve(rootDir, relative);
    if (target !== rootDir && !target.startsWith(rootDir + path.sep)) return null;
    for (const candidate of [target, path.join(target, 'default.nix')]) {
      try {
        const stat = fs.statSync(candidate);
        if (stat.isFile() && stat.size < 4 * 1024 * 1024) return fs.readFileSync(candidate, 'utf8');
      } catch {
        // next
      }
    }
    return null;
  };
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
  const plan = planPinEdit(text, { fileName: path.basename(flakeFile), readModule: moduleReaderFor(dir) });
  plan.file = flakeFile;
  if (plan.status === 'changed' && !options.dryRun) {
    const current = await fsp.readFile(flakeFile, 'utf8');
    if (current !== text) {
      return { ...plan, status: 'refused', messages: [`${flakeFile} changed while it was being edited; run again`] };
    }
    const mode = (await fsp.stat(flakeFile)).mode & 0o7777;
    const tmp = path.join(dir, `.flake.nix.nixos-generations-${process.pid}.tmp`);
    await fsp.writeFile(tmp, plan.after, { mode });
    await fsp.rename(tmp, flakeFile);
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

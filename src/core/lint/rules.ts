/** The stateVersion rules, run over a project model (and, when given, the same project at a base revision). */
import * as path from 'node:path';
import { childNodes, childTokens, resolveVariable, type SyntaxNode } from '../nix';
import type { StateVersionGate } from './data/gates';
import { packageAttribute, packageVersion, majorDistance } from './data/majorUpgrades';
import type { InputRelease } from './flakeLock';
import { homeManagerReleaseFor, nixpkgsReleaseFor } from './flakeInfo';
import { defaultFor, HOME_MANAGER_GATES, NIXOS_GATES, removedIn } from './gates';
import type { MachineFacts } from './machine';
import type { ModuleInfo, OptionDef, ParsedFile } from './module';
import type { ConfigRoot, Project, ResolvedValue } from './project';
import { definesOption, defsOf, firstDefUnder, isTrue, moduleIndex, resolveValue } from './project';
import {
  compareVersions,
  HOME_MANAGER_STATE_VERSIONS,
  homeManagerMaxStateVersion,
  isNixosRelease,
  isStateVersionFormat,
  LATEST_STABLE,
  nearestRelease,
  nextRelease,
} from './releases';
import type { LintDiagnostic, QuickFix, Severity, TextEdit } from './types';

export interface Comparison {
  project: Project;
  /** "HEAD", "main", "the activated generation (abc1234)". */
  label: string;
}

export interface RuleContext {
  project: Project;
  base?: Comparison;
  deployed?: Comparison;
  /** What the explorer knows about the machine the editor runs on (its oldest and activated generations). */
  machine?: MachineFacts;
}

const STATE_VERSION_DOC = 'https://nixos.org/manual/nixos/stable/options#opt-system.stateVersion';
const LABEL_RE = /^[a-zA-Z0-9:_.-]*$/;

type SiteKind = 'nixos' | 'home';

interface Site {
  def: OptionDef;
  kind: SiteKind;
  /** Stable key across revisions: file, option and occurrence. */
  key: string;
  roots: ConfigRoot[];
}

/** Runs every rule; diagnostics are deduplicated but not sorted. */
export function runRules(ctx: RuleContext): LintDiagnostic[] {
  const out = new Emitter();
  const cur = indexProject(ctx.project);
  const base = ctx.base ? { ...ctx.base, index: indexProject(ctx.base.project) } : undefined;
  const deployed = ctx.deployed ? { ...ctx.deployed, index: indexProject(ctx.deployed.project) } : undefined;

  const known: KnownValues = { base, deployed, machine: ctx.machine };
  for (const site of cur.sites) checkSite(ctx.project, site, known, out);
  for (const def of cur.labels) checkLabel(def, cur.rootsOf(def), out);
  for (const cmp of [base, deployed]) if (cmp) checkChanged(ctx.project, cur, cmp, out);
  for (const root of ctx.project.roots) {
    checkMissing(ctx.project, root, cur, ctx.machine, out);
    checkServices(ctx.project, root, cur, base, out);
    for (const cmp of [base, deployed]) if (cmp) checkMajorUpgrades(ctx.project, root, cmp, out);
  }
  return out.list();
}

class Emitter {
  private readonly seen = new Map<string, LintDiagnostic>();

  add(d: LintDiagnostic): void {
    const key = `${d.file}:${d.range.start.line}:${d.range.start.character}:${d.code}`;
    if (!this.seen.has(key)) this.seen.set(key, d);
  }

  list(): LintDiagnostic[] {
    return [...this.seen.values()];
  }
}

interface ProjectIndex {
  sites: Site[];
  labels: OptionDef[];
  rootsOf(def: OptionDef): ConfigRoot[];
  siteByKey: Map<string, Site>;
}

function siteKind(def: OptionDef): SiteKind | undefined {
  if (def.key === 'system.stateVersion') return 'nixos';
  if (def.key === 'home.stateVersion') return 'home';
  if (
    def.path.length === 5 &&
    def.path[0] === 'home-manager' &&
    def.path[1] === 'users' &&
    def.key.endsWith('.home.stateVersion')
  ) {
    return 'home';
  }
  return undefined;
}

function indexProject(project: Project): ProjectIndex {
  const byBinding = new Map<SyntaxNode, ConfigRoot[]>();
  for (const root of project.roots) {
    for (const m of root.modules) {
      for (const d of moduleIndex(m).special) {
        const list = byBinding.get(d.binding) ?? [];
        if (!list.includes(root)) list.push(root);
        byBinding.set(d.binding, list);
      }
    }
  }
  const modules = new Set<ModuleInfo>(project.files.values());
  for (const r of project.roots) for (const m of r.modules) modules.add(m);
  const sites: Site[] = [];
  const labels: OptionDef[] = [];
  const seenBinding = new Set<string>();
  const counters = new Map<string, number>();
  const ordered = [...modules]
    .flatMap((m) => moduleIndex(m).special)
    .sort((a, b) =>
      a.file.path < b.file.path
        ? -1
        : a.file.path > b.file.path
          ? 1
          : a.binding.start - b.binding.start || a.name.start - b.name.start,
    );
  for (const def of ordered) {
    const kind = siteKind(def);
    const isLabel = def.key === 'system.nixos.label';
    if (!kind && !isLabel) continue;
    const id = `${def.file.path}:${def.binding.start}:${def.name.start}`;
    if (seenBinding.has(id)) continue;
    seenBinding.add(id);
    if (isLabel) {
      labels.push(def);
      continue;
    }
    const rel = path.relative(project.dir, def.file.path);
    const counterKey = `${rel}#${kind}`;
    const n = counters.get(counterKey) ?? 0;
    counters.set(counterKey, n + 1);
    sites.push({ def, kind: kind!, key: `${counterKey}#${n}`, roots: byBinding.get(def.binding) ?? [] });
  }
  return {
    sites,
    labels,
    rootsOf: (def) => byBinding.get(def.binding) ?? [],
    siteByKey: new Map(sites.map((s) => [s.key, s])),
  };
}

function range(file: ParsedFile, node: { start: number; end: number }): LintDiagnostic['range'] {
  return file.lines.rangeOf(node.start, node.end);
}

function resolvedFor(site: Site, root: ConfigRoot | undefined): ResolvedValue {
  return resolveValue(site.def.value, site.def.file, root);
}

/** The string value(s) a site comes to, one per distinct literal (roots may pass different special arguments). */
function siteValues(site: Site): { value: ResolvedValue; roots: ConfigRoot[] }[] {
  const roots = site.roots.length ? site.roots : [undefined];
  const out: { value: ResolvedValue; roots: ConfigRoot[] }[] = [];
  for (const root of roots) {
    const v = resolvedFor(site, root);
    const same = out.find((o) => o.value.node === v.node);
    if (same) {
      if (root) same.roots.push(root);
    } else out.push({ value: v, roots: root ? [root] : [] });
  }
  return out;
}

function isDarwinOnly(site: Site): boolean {
  return site.roots.length > 0 && site.roots.every((r) => r.kind === 'darwin');
}

function releaseOf(project: Project, root: ConfigRoot | undefined, kind: SiteKind): InputRelease | undefined {
  if (kind === 'home' && root) {
    const hm = homeManagerReleaseFor(project.flake, root.homeManagerInput);
    if (hm) return { ...hm, release: homeManagerMaxStateVersion(hm.release) };
  }
  return nixpkgsReleaseFor(project.flake, root?.nixpkgsInput);
}

type Indexed = Comparison & { index: ProjectIndex };

/** What else is known about a stateVersion's right value: the comparisons' values and the machine's history. */
interface KnownValues {
  base: Indexed | undefined;
  deployed: Indexed | undefined;
  machine: MachineFacts | undefined;
}

/** The value a site had in a comparison (the same file, option and occurrence), when it was a string. */
function valueIn(cmp: Indexed | undefined, site: Site): string | undefined {
  const old = cmp?.index.siteByKey.get(site.key);
  if (!old) return undefined;
  const v = resolvedFor(old, old.roots[0]);
  return v.kind === 'string' ? v.value : undefined;
}

/**
 * Whether `root` is the configuration of the machine the facts describe: a flake host of the machine's host name,
 * or the one configuration of a classic directory (/etc/nixos is the machine's own).
 */
function runsHere(project: Project, root: ConfigRoot | undefined, machine: MachineFacts | undefined): boolean {
  if (!machine || !root || root.kind !== 'nixos') return false;
  if (machine.hostName !== undefined && root.name === machine.hostName) return true;
  return !project.flakeFile && project.roots.filter((r) => r.kind === 'nixos').length === 1;
}

/** Why the oldest generation's release is the machine's stateVersion, in words. */
function installedWith(oldest: { generation: number; release: string }): string {
  return oldest.generation === 1
    ? `this machine was installed with ${oldest.release} (its first generation was built with it)`
    : `this machine was installed with ${oldest.release} or earlier (its oldest generation still present, ${oldest.generation}, was built with it)`;
}

/**
 * Values to offer as quick fixes, each with why; a value offered for several reasons is one fix naming them all,
 * and the first value offered is the preferred fix.
 */
class Offers {
  private readonly reasons = new Map<string, string[]>();

  add(value: string | undefined, why: string): void {
    if (value === undefined) return;
    const list = this.reasons.get(value) ?? [];
    if (!list.includes(why)) list.push(why);
    this.reasons.set(value, list);
  }

  fixes(file: ParsedFile, node: SyntaxNode): QuickFix[] {
    return [...this.reasons].map(([value, why], i) =>
      replaceString(file, node, value, `Use "${value}": ${why.join('; ')}`, i === 0),
    );
  }
}

function checkSite(project: Project, site: Site, known: KnownValues, out: Emitter): void {
  if (site.kind === 'nixos' && isDarwinOnly(site)) return;
  const option = site.kind === 'home' ? 'home.stateVersion' : 'system.stateVersion';
  for (const { value, roots } of siteValues(site)) {
    if (value.kind !== 'string') continue;
    const file = value.file;
    const v = value.value;
    const where = range(file, value.node);
    if (!isStateVersionFormat(v)) {
      const prefix = /^(\d\d\.\d\d)(?:[.\s-]|pre|$)/.exec(v)?.[1];
      const fixes: QuickFix[] = [];
      if (prefix) fixes.push(replaceString(file, value.node, prefix, `Use "${prefix}"`, true));
      out.add({
        file: file.path,
        range: where,
        severity: 'error',
        code: 'stateversion-invalid',
        message:
          `${option} = "${v}" is not in the "YY.MM" format of a NixOS release` +
          (prefix
            ? ` (a version string such as system.nixos.version carries a suffix; the release is "${prefix}")`
            : '') +
          (site.kind === 'nixos' ? '; NixOS 25.05 and later refuse to evaluate it.' : '; home-manager refuses it.'),
        fixes,
      });
      continue;
    }
    if (site.kind === 'home' ? !HOME_MANAGER_STATE_VERSIONS.includes(v) && !isNixosRelease(v) : !isNixosRelease(v)) {
      const accepted = (x: string | undefined): string | undefined =>
        x !== undefined &&
        x !== v &&
        (site.kind === 'home' ? HOME_MANAGER_STATE_VERSIONS.includes(x) : isNixosRelease(x))
          ? x
          : undefined;
      const offers = new Offers();
      offers.add(accepted(valueIn(known.base, site)), `the value at ${known.base?.label ?? ''}`);
      offers.add(accepted(valueIn(known.deployed, site)), `the value ${known.deployed?.label ?? ''} was built with`);
      const oldest = known.machine?.oldest;
      if (oldest && site.kind === 'nixos' && runsHere(project, roots[0], known.machine))
        offers.add(accepted(oldest.release), installedWith(oldest));
      const nearest = nearestRelease(v, site.kind === 'home' ? HOME_MANAGER_STATE_VERSIONS : undefined);
      offers.add(
        accepted(nearest),
        v === '21.03' && nearest === '21.05'
          ? 'the release "21.03" became (it shipped as 21.05)'
          : `the ${site.kind === 'home' ? 'accepted value' : 'NixOS release'} nearest to "${v}"`,
      );
      out.add({
        file: file.path,
        range: where,
        severity: site.kind === 'home' ? 'error' : 'warning',
        code: 'stateversion-invalid',
        message:
          site.kind === 'home'
            ? `home.stateVersion = "${v}" is not a value home-manager accepts (releases such as "24.05" or "24.11").`
            : `system.stateVersion = "${v}" is not a NixOS release${v === '21.03' ? ' ("21.03" was planned but shipped as 21.05)' : ''}: modules compare it as a version between releases, which matches no installation. Use the release this machine was first installed with.`,
        fixes: offers.fixes(file, value.node),
      });
      continue;
    }
    // Newer than the release in use.
    const targets = roots.length ? roots : [undefined];
    for (const root of targets) {
      const rel = releaseOf(project, root, site.kind);
      if (!rel || compareVersions(v, rel.release) <= 0) continue;
      const who = root ? ` (${root.kind === 'home' ? 'home-manager user' : 'configuration'} ${root.name})` : '';
      const what =
        site.kind === 'home' && root?.homeManagerInput && project.flake?.homeManager.has(root.homeManagerInput)
          ? 'home-manager'
          : 'nixpkgs';
      // Only values this nixpkgs knows: the committed one, the running system's, the machine's first release.
      const fits = (x: string | undefined): string | undefined =>
        x !== undefined && x !== v && isStateVersionFormat(x) && compareVersions(x, rel.release) <= 0 ? x : undefined;
      const offers = new Offers();
      offers.add(fits(valueIn(known.base, site)), `the value at ${known.base?.label ?? ''}`);
      offers.add(fits(valueIn(known.deployed, site)), `the value ${known.deployed?.label ?? ''} was built with`);
      const oldest = known.machine?.oldest;
      if (oldest && site.kind === 'nixos' && runsHere(project, root, known.machine))
        offers.add(fits(oldest.release), installedWith(oldest));
      out.add({
        file: file.path,
        range: where,
        severity: 'error',
        code: 'stateversion-newer-than-nixpkgs',
        message:
          `${option} = "${v}" is newer than the ${what} release this is built with${who}: ` +
          `${rel.kind === 'exact' ? rel.release : `at most ${rel.release}`} (input "${rel.input}", ${rel.source}). ` +
          `stateVersion records the release a machine was first installed with, so it cannot be newer; modules would already apply defaults meant for ${v}, and the next nixpkgs update switches more of them silently.`,
        fixes: offers.fixes(file, value.node),
        detail: stateVersionDetail(),
        explains: 'stateVersion',
      });
      break;
    }
  }
}

function checkLabel(def: OptionDef, roots: ConfigRoot[], out: Emitter): void {
  const v = resolveValue(def.value, def.file, roots[0]);
  if (v.kind !== 'string' || LABEL_RE.test(v.value)) return;
  const fixed = v.value.replace(/[^a-zA-Z0-9:_.-]+/g, '-');
  const bad = [...new Set(v.value.replace(/[a-zA-Z0-9:_.-]/g, ''))].map((c) => JSON.stringify(c)).join(', ');
  out.add({
    file: v.file.path,
    range: range(v.file, v.node),
    severity: 'error',
    code: 'label-invalid',
    message: `system.nixos.label may only contain letters, digits and ":_.-"; ${bad} ${bad.includes(',') ? 'are' : 'is'} not allowed and the configuration will not evaluate.`,
    fixes: [replaceString(v.file, v.node, fixed, `Use "${fixed}"`, true)],
  });
}

function rootStateVersion(
  index: ProjectIndex,
  root: ConfigRoot,
): { value: string; site: Site; resolved: ResolvedValue } | undefined {
  const kind: SiteKind = root.kind === 'home' ? 'home' : 'nixos';
  for (const site of index.sites) {
    if (site.kind !== kind || !site.roots.includes(root)) continue;
    const v = resolvedFor(site, root);
    if (v.kind === 'string') return { value: v.value, site, resolved: v };
  }
  return undefined;
}

function hasStateVersion(index: ProjectIndex, root: ConfigRoot): boolean {
  const kind: SiteKind = root.kind === 'home' ? 'home' : 'nixos';
  return index.sites.some((s) => s.kind === kind && s.roots.includes(root));
}

/** nixpkgs' installer and image profiles (`installation-cd-minimal.nix`, `sd-image-aarch64.nix`, netboot): a
 * system.stateVersion means nothing for an image that is never upgraded in place. */
const IMAGE_PROFILE = /installer\/|installation-cd|sd-image|netboot|iso-image/;

function isImage(root: ConfigRoot): boolean {
  return root.modules.some((m) =>
    m.imports.some(
      (r) =>
        (r.kind === 'external' || r.kind === 'unknown') && IMAGE_PROFILE.test(r.kind === 'external' ? r.name : r.why),
    ),
  );
}

/**
 * The module a missing stateVersion belongs in, where the warning shows and the fix writes: a classic configuration's
 * own file; else the host's configuration.nix among the modules its builder imports, else the first of them that is
 * a plain module of its own file (not the flake, not hardware-configuration.nix).
 */
function homeModuleOf(project: Project, root: ConfigRoot): ModuleInfo | undefined {
  const plain = root.modules.filter((m) => m.body);
  const anchor = root.anchorFile.path;
  if (anchor !== project.flakeFile?.path) {
    const own = plain.find((m) => m.file.path === anchor);
    if (own) return own;
  }
  const candidates = plain.filter((m) => m.file.path !== anchor && !m.file.path.endsWith('hardware-configuration.nix'));
  return candidates.find((m) => path.basename(m.file.path) === 'configuration.nix') ?? candidates[0];
}

function checkMissing(
  project: Project,
  root: ConfigRoot,
  index: ProjectIndex,
  machine: MachineFacts | undefined,
  out: Emitter,
): void {
  if (root.kind === 'darwin' || !root.complete || project.unresolvedOutputs) return;
  if (hasStateVersion(index, root)) return;
  if (root.kind === 'nixos' && isImage(root)) return;
  const option = root.kind === 'home' ? 'home.stateVersion' : 'system.stateVersion';
  const module = homeModuleOf(project, root);
  const oldest = machine?.oldest && runsHere(project, root, machine) ? machine.oldest : undefined;
  const rel = releaseOf(project, root, root.kind === 'home' ? 'home' : 'nixos');
  // An existing machine keeps the release it was installed with; the release being built fits only a new one.
  const value = oldest
    ? { release: oldest.release, why: installedWith(oldest) }
    : rel && rel.kind === 'exact'
      ? {
          release: rel.release,
          why:
            root.kind === 'home'
              ? `the release being built, right only for a new home`
              : `the release being built, right only for a new installation (no generation of ${root.name} on this machine tells the release it was installed with)`,
        }
      : undefined;
  const fixes: QuickFix[] = [];
  if (value && module?.body) {
    const edit = insertIntoSet(module.file, module.body, `${option} = "${value.release}";`);
    if (edit) {
      fixes.push({
        title: `Set ${option} = "${value.release}" in ${path.basename(module.file.path)}: ${value.why}`,
        file: module.file.path,
        edits: [edit],
        preferred: oldest !== undefined,
      });
    }
  }
  const what = root.kind === 'home' ? `home-manager configuration ${root.name}` : `NixOS configuration ${root.name}`;
  const at = module?.body ? { file: module.file, node: openingBrace(module.body) } : undefined;
  out.add({
    file: (at?.file ?? root.anchorFile).path,
    range: at ? range(at.file, at.node) : range(root.anchorFile, anchorRange(root)),
    severity: root.kind === 'home' ? 'error' : 'warning',
    code: 'stateversion-missing',
    message:
      root.kind === 'home'
        ? `The ${what} sets no home.stateVersion; home-manager requires it. Set it to the home-manager release this home was first set up with, and keep it there.`
        : `The ${what} sets no system.stateVersion: NixOS then uses the release being built, so every nixpkgs update silently changes the defaults kept for existing data (databases, data directories). Set it to the release this machine was first installed with, and keep it there${oldest ? ` (${installedWith(oldest)})` : ''}.`,
    fixes,
    detail: stateVersionDetail(),
    explains: 'stateVersion',
  });
}

/** The `{` of an attribute set (a one-character range to mark), or the set itself. */
function openingBrace(set: SyntaxNode): { start: number; end: number } {
  return childTokens(set).find((t) => t.kind === 'LBrace') ?? set;
}

function anchorRange(root: ConfigRoot): { start: number; end: number } {
  const a = root.anchor;
  if (a.kind === 'AttrSet') {
    const brace = childTokens(a).find((t) => t.kind === 'LBrace');
    if (brace) return brace;
  }
  if (a.kind === 'Root') return { start: 0, end: 0 };
  return a;
}

function gatesFor(root: ConfigRoot): readonly StateVersionGate[] {
  return root.kind === 'home' ? HOME_MANAGER_GATES : root.kind === 'nixos' ? NIXOS_GATES : [];
}

/** The definition that makes a gate relevant for the configuration, if any. */
function gateTrigger(root: ConfigRoot, gate: StateVersionGate): OptionDef | undefined | null {
  const when = gate.when;
  if (when.kind === 'always') return null;
  if (when.kind === 'enabled') return defsOf(root, when.option).find(isTrue);
  return firstDefUnder(root, when.option);
}

function isPinned(root: ConfigRoot, gate: StateVersionGate): boolean {
  return gate.pinnedBy.some((o) => definesOption(root, o));
}

interface RootState {
  stateVersion?: string;
  release: string;
  releaseKnown: boolean;
}

function stateOf(project: Project, index: ProjectIndex, root: ConfigRoot): RootState {
  const sv = rootStateVersion(index, root);
  const rel = nixpkgsReleaseFor(project.flake, root.nixpkgsInput);
  return {
    ...(sv ? { stateVersion: sv.value } : {}),
    release: rel?.release ?? LATEST_STABLE,
    releaseKnown: rel !== undefined,
  };
}

/** What the change of stateVersion flips for this configuration. */
function flipsFor(
  root: ConfigRoot,
  from: string,
  to: string,
  release: string,
): { gate: StateVersionGate; a: string; b: string }[] {
  const out: { gate: StateVersionGate; a: string; b: string }[] = [];
  for (const gate of gatesFor(root)) {
    const trigger = gateTrigger(root, gate);
    if (trigger === undefined || isPinned(root, gate)) continue;
    const a = defaultFor(gate, from, release);
    const b = defaultFor(gate, to, release);
    if (a && b && a.value !== b.value) out.push({ gate, a: a.value, b: b.value });
  }
  return out;
}

function checkChanged(
  project: Project,
  cur: ProjectIndex,
  cmp: Comparison & { index: ProjectIndex },
  out: Emitter,
): void {
  for (const site of cur.sites) {
    const old = cmp.index.siteByKey.get(site.key);
    if (!old) continue;
    const oldRoot = old.roots[0];
    const oldValue = resolvedFor(old, oldRoot);
    if (oldValue.kind !== 'string') continue;
    for (const { value, roots } of siteValues(site)) {
      if (value.kind !== 'string' || value.value === oldValue.value) continue;
      const option = site.kind === 'home' ? 'home.stateVersion' : 'system.stateVersion';
      const lines: string[] = [];
      let harmful = false;
      for (const root of roots) {
        const state = stateOf(project, cur, root);
        for (const f of flipsFor(root, oldValue.value, value.value, state.release)) {
          if (f.gate.class === 'data' && (f.gate.severity === 'critical' || f.gate.severity === 'high')) harmful = true;
          lines.push(`${f.gate.option}: ${f.a} → ${f.b} (${f.gate.impact})`);
        }
      }
      const unique = [...new Set(lines)];
      const what = unique.length
        ? ` For this configuration it flips: ${unique.join('; ')}.`
        : ' None of the defaults this tool knows of changes for this configuration, but nixpkgs has more; read the release notes between the two values.';
      out.add({
        file: value.file.path,
        range: range(value.file, value.node),
        severity: harmful ? 'error' : 'warning',
        code: 'stateversion-changed',
        message:
          `${option} changed from "${oldValue.value}" (${cmp.label}) to "${value.value}". Changing stateVersion upgrades nothing: the release comes from your nixpkgs input or channel. ` +
          `It only switches defaults that keep data from older releases working.${what}`,
        fixes: [
          replaceString(value.file, value.node, oldValue.value, `Restore "${oldValue.value}" (${cmp.label})`, true),
        ],
        detail: stateVersionDetail(),
        explains: 'stateVersion',
      });
    }
  }
}

function checkServices(
  project: Project,
  root: ConfigRoot,
  cur: ProjectIndex,
  base: (Comparison & { index: ProjectIndex }) | undefined,
  out: Emitter,
): void {
  if (root.kind === 'darwin') return;
  const state = stateOf(project, cur, root);
  const sv = state.stateVersion;
  if (!sv || !isStateVersionFormat(sv)) return;
  const baseRoot = base?.project.roots.find((r) => r.id === root.id);
  const baseState = baseRoot && base ? stateOf(base.project, base.index, baseRoot) : undefined;
  for (const gate of gatesFor(root)) {
    const trigger = gateTrigger(root, gate);
    if (trigger === undefined || isPinned(root, gate)) continue;
    const step = defaultFor(gate, sv, state.release);
    if (!step) continue;
    let severity: Severity = 'hint';
    let message: string;
    let pinStep = step;
    const svChanged =
      baseState?.stateVersion && baseState.stateVersion !== sv && isStateVersionFormat(baseState.stateVersion);
    const before = svChanged ? defaultFor(gate, baseState!.stateVersion!, state.release) : undefined;
    const relBefore =
      !svChanged && baseState && baseState.releaseKnown && state.releaseKnown && baseState.release !== state.release
        ? defaultFor(gate, sv, baseState.release)
        : undefined;
    const gone = removedIn(step, state.release);
    if (before && before.value !== step.value) {
      severity = 'warning';
      pinStep = before;
      message = `${gate.option} follows stateVersion and is not set: the change of stateVersion from ${baseState!.stateVersion} to ${sv} switches it from ${before.value} to ${step.value}, and ${gate.impact}. Pin ${before.value}, the value in effect now.`;
    } else if (relBefore && relBefore.value !== step.value) {
      severity = 'warning';
      pinStep = relBefore;
      message = `${gate.option} follows stateVersion and is not set: the nixpkgs update from ${baseState!.release} to ${state.release} switches it from ${relBefore.value} to ${step.value} for stateVersion ${sv}, and ${gate.impact}. Pin ${relBefore.value} to keep what runs now.`;
    } else if (gone) {
      severity = 'warning';
      message = `${gate.option} follows stateVersion and is not set: for stateVersion ${sv} it would be ${step.value}, which nixpkgs removed in ${gone}, so the configuration fails to evaluate. Set it explicitly to the version you run, and upgrade from there (${gate.impact}).`;
    } else {
      if (gate.when.kind === 'always' || gate.class === 'cosmetic' || gate.severity === 'low') continue;
      // stateVersion only ever goes up: past the last threshold nothing can flip any more, so no advice.
      if (!gate.chains.some((c) => c.steps.some((st) => st.from !== '' && compareVersions(st.from, sv) > 0))) continue;
      message = `${gate.option} follows stateVersion (${sv} → ${step.value}) and is not set. Pin it so that a stateVersion change cannot switch it under existing data: ${gate.impact}.`;
    }
    const anchor = trigger ?? root.modules[0]?.defs[0];
    if (!anchor) continue;
    const fixes: QuickFix[] = [];
    if (gate.fixOption && pinStep.fix && !removedIn(pinStep, state.release)) {
      const fix = pinFix(anchor, gate.fixOption, pinStep.fix);
      if (fix) fixes.push(fix);
    }
    out.add({
      file: anchor.file.path,
      range: range(anchor.file, anchor.name),
      severity,
      code: 'service-follows-stateversion',
      message: root.kind === 'home' || !rootNameNeeded(root) ? message : `${message} (configuration ${root.name})`,
      fixes,
      detail: gateDetail(gate, sv, state.release),
    });
  }
}

function rootNameNeeded(root: ConfigRoot): boolean {
  return root.id.includes('#') && !root.id.endsWith('#module');
}

function checkMajorUpgrades(
  _project: Project,
  root: ConfigRoot,
  cmp: Comparison & { index: ProjectIndex },
  out: Emitter,
): void {
  const baseRoot = cmp.project.roots.find((r) => r.id === root.id);
  if (!baseRoot) return;
  const options = new Set([
    'services.postgresql.package',
    'services.nextcloud.package',
    'services.mysql.package',
    'services.mongodb.package',
    'services.netbox.package',
    'services.dovecot2.package',
    'services.graylog.package',
  ]);
  for (const option of options) {
    const defs = defsOf(root, option);
    if (defs.length !== 1) continue;
    const def = defs[0]!;
    const attr = packageAttribute(def.file.text.slice(def.value.start, def.value.end));
    const now = attr ? packageVersion(option, attr) : undefined;
    if (!now) continue;
    let then: string | undefined;
    let thenWhat = '';
    const baseDefs = defsOf(baseRoot, option);
    if (baseDefs.length === 1) {
      const b = baseDefs[0]!;
      const battr = packageAttribute(b.file.text.slice(b.value.start, b.value.end));
      const bv = battr ? packageVersion(option, battr) : undefined;
      if (bv) {
        then = bv.version;
        thenWhat = battr!;
      }
    } else if (baseDefs.length === 0) {
      const gate = NIXOS_GATES.find((g) => g.fixOption === option);
      const baseState = stateOf(cmp.project, cmp.index, baseRoot);
      if (
        gate &&
        baseState.stateVersion &&
        isStateVersionFormat(baseState.stateVersion) &&
        gateTrigger(baseRoot, gate)
      ) {
        const step = defaultFor(gate, baseState.stateVersion, baseState.release);
        const battr = step?.fix?.startsWith('pkgs.') ? step.fix.slice(5) : undefined;
        const bv = battr ? packageVersion(option, battr) : undefined;
        if (bv) {
          then = bv.version;
          thenWhat = `${battr} (the stateVersion default)`;
        }
      }
    }
    if (then === undefined || then === now.version) continue;
    const distance = majorDistance(then, now.version);
    if (distance === 0) continue;
    const rule = now.rule;
    let severity: Severity;
    if (distance < 0) severity = rule.service === 'PostgreSQL' ? 'warning' : 'error';
    else if (rule.maxStep !== undefined && distance <= rule.maxStep) severity = rule.supportedSeverity ?? 'information';
    else severity = rule.upgradeSeverity;
    const direction = distance < 0 ? 'downgrade' : 'upgrade';
    const skip =
      rule.maxStep !== undefined && distance > rule.maxStep
        ? ` That skips ${distance - rule.maxStep} major version(s).`
        : '';
    out.add({
      file: def.file.path,
      range: range(def.file, def.value),
      severity,
      code: 'service-major-upgrade',
      message: `${rule.service} ${direction} from ${then} (${thenWhat}, ${cmp.label}) to ${now.version} (${now.attribute}).${skip} ${rule.steps}${rule.link ? ` See ${rule.link}` : ''}`,
    });
  }
}

function stateVersionDetail(): string {
  return [
    '**system.stateVersion** records the NixOS release this machine was first installed with.',
    '',
    'It does not choose the nixpkgs your system is built from — that is your flake input or channel — so changing it upgrades nothing.',
    'Modules use it to keep defaults that existing data depends on (database majors, data directories).',
    'Keep it at its first value unless you have migrated every piece of state it governs.',
    '',
    `[system.stateVersion in the NixOS manual](${STATE_VERSION_DOC})`,
  ].join('\n');
}

function gateDetail(gate: StateVersionGate, sv: string, release: string): string {
  const steps = gate.chains.length ? gate.chains[gate.chains.length - 1]!.steps : [];
  const rows = steps.map((s) => `| ${s.from === '' ? 'older' : `≥ ${s.from}`} | ${s.value} |`);
  return [
    `**${gate.option}** follows stateVersion (${gate.module}).`,
    '',
    `With stateVersion ${sv} on nixpkgs ${release}: **${defaultFor(gate, sv, release)?.value ?? 'unknown'}**.`,
    '',
    '| stateVersion | default |',
    '|---|---|',
    ...rows,
    '',
    `If it changes: ${gate.impact}.`,
    gate.link ? `\n[How to upgrade](${gate.link})` : '',
  ].join('\n');
}

function replaceString(file: ParsedFile, node: SyntaxNode, value: string, title: string, preferred: boolean): QuickFix {
  return {
    title,
    file: file.path,
    edits: [{ range: range(file, node), newText: JSON.stringify(value).replace(/\$\{/g, '\\${') }],
    preferred,
  };
}

/** Inserts `text` as a new binding at the end of an attribute set, indented like its bindings. */
function insertIntoSet(file: ParsedFile, set: SyntaxNode, text: string): TextEdit | undefined {
  const close = [...childTokens(set)].reverse().find((t) => t.kind === 'RBrace');
  if (!close) return undefined;
  const bindings = childNodes(set).filter((b) => b.kind === 'Binding' || b.kind === 'Inherit');
  const last = bindings[bindings.length - 1];
  if (last) {
    const indent = file.lines.indentAt(last.start);
    const pos = file.lines.positionAt(last.end);
    return { range: { start: pos, end: pos }, newText: `\n${indent}${text}` };
  }
  const indent = file.lines.indentAt(close.start);
  const pos = file.lines.positionAt(close.start);
  return { range: { start: pos, end: pos }, newText: `  ${text}\n${indent}` };
}

/** The quick fix pinning `option` to `expr`, next to the definition that enables the service. */
function pinFix(anchor: OptionDef, option: string, expr: string): QuickFix | undefined {
  const file = anchor.file;
  const prefix = anchor.path.slice(0, anchor.path.length - anchor.ownNames);
  const target = option.split('.');
  if (prefix.some((p, i) => p !== target[i])) return undefined;
  const relative = target.slice(prefix.length).map(nixName).join('.');
  const edits: TextEdit[] = [];
  const indent = file.lines.indentAt(anchor.binding.start);
  const pos = file.lines.positionAt(anchor.binding.end);
  edits.push({ range: { start: pos, end: pos }, newText: `\n${indent}${relative} = ${expr};` });
  if (/\bpkgs\./.test(expr)) {
    const origin = resolveVariable('pkgs', anchor.binding);
    if (origin.kind === 'unresolved') {
      const pattern = enclosingPattern(anchor.binding);
      if (!pattern) return undefined;
      const brace = childTokens(pattern).find((t) => t.kind === 'LBrace');
      if (!brace) return undefined;
      const at = file.lines.positionAt(brace.end);
      const hasEntries =
        childNodes(pattern).some((c) => c.kind === 'PatEntry') ||
        childTokens(pattern).some((t) => t.kind === 'Ellipsis');
      edits.unshift({ range: { start: at, end: at }, newText: hasEntries ? ' pkgs,' : ' pkgs ' });
    }
  }
  return { title: `Pin ${option} = ${expr}`, file: file.path, edits, preferred: true };
}

function enclosingPattern(node: SyntaxNode): SyntaxNode | undefined {
  let last: SyntaxNode | undefined;
  for (let n: SyntaxNode | undefined = node; n; n = n.parent) {
    if (n.kind === 'Lambda') {
      const param = childNodes(n)[0];
      if (param?.kind === 'Pattern') last = param;
    }
  }
  return last;
}

function nixName(name: string | undefined): string {
  if (name === undefined) return '"?"';
  return /^[A-Za-z_][A-Za-z0-9_'-]*$/.test(name) ? name : JSON.stringify(name);
}

export { nextRelease };

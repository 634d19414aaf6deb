import * as vscode from 'vscode';
import { formatAge, formatBytes, formatLocalDateTime, shortRevision } from '../../core/format';
import { describeDrift } from '../../core/fleet/drift';
import { describeMachine } from '../../core/fleet/view';
import { generationStates } from '../../core/generations/states';
import type { Generation, ProfileProblem, ProfileRef } from '../../core/generations/types';
import { LOCAL_MACHINE, type MachineData, type MachineKey, type RemoteMachineState } from '../../core/model/store';
import { rebootReasons, type ProfileListing, type RebootStatus } from './source';

export type ExplorerNode = MachineNode | ProfileNode | GenerationNode | DetailNode | ProblemNode;

/**
 * A remote machine of the workspace (core/fleet): its state in the row (reading, drift, unreachable and last seen),
 * and below it what it runs against HEAD, why it cannot be reached, and its system profile's generations.
 */
export class MachineNode {
  readonly parent = undefined;
  private kids: ExplorerNode[] = [];

  constructor(readonly data: MachineData & { remote: RemoteMachineState }) {}

  get machine(): MachineKey {
    return this.data.machine;
  }

  setChildren(children: ExplorerNode[]): void {
    this.kids = children;
  }

  children(): ExplorerNode[] {
    return this.kids;
  }

  toTreeItem(): vscode.TreeItem {
    const r = this.data.remote;
    const item = new vscode.TreeItem(r.name, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `machine:${this.data.machine}`;
    item.description = describeMachine(r);
    const warn = new vscode.ThemeColor('problemsWarningIcon.foreground');
    item.iconPath =
      r.status === 'loading'
        ? new vscode.ThemeIcon('sync~spin')
        : r.status === 'unreachable'
          ? new vscode.ThemeIcon('debug-disconnect', warn)
          : r.status === 'no-target'
            ? new vscode.ThemeIcon('question', warn)
            : this.data.reboot?.needed
              ? new vscode.ThemeIcon('debug-restart', warn)
              : new vscode.ThemeIcon('vm-connect');
    const md = new vscode.MarkdownString('', true);
    md.supportThemeIcons = true;
    md.appendMarkdown(`**${escapeMarkdown(r.name)}**`);
    if (r.hostname && r.hostname !== r.name) md.appendMarkdown(` (host name \`${escapeMarkdown(r.hostname)}\`)`);
    md.appendMarkdown('\n\n| | |\n|---|---|\n');
    const rows: Array<[string, string]> = [
      ['ssh target', r.destination ?? 'none'],
      ['From', r.source === 'setting' ? 'the nixosGenerations.machines setting' : `the flake (${r.source})`],
    ];
    if (r.drift) rows.push(['Runs', describeDrift(r.drift)]);
    if (r.unreachable) rows.push(['Unreachable', r.unreachable.message]);
    rows.push(['Last seen', r.lastSeen !== null ? formatLocalDateTime(new Date(r.lastSeen).toISOString()) : 'never']);
    for (const [key, value] of rows) md.appendMarkdown(`| ${key} | ${escapeTableCell(value)} |\n`);
    item.tooltip = md;
    item.contextValue = `machine ${r.status}`;
    item.accessibilityInformation = { label: `Machine ${r.name}, ${item.description}` };
    return item;
  }
}

const PROFILE_ICONS: Record<ProfileRef['kind'], string> = {
  system: 'server-environment',
  user: 'account',
  'home-manager': 'home',
  other: 'folder-library',
};

export class ProfileNode {
  private kids: ExplorerNode[] = [];

  constructor(
    readonly listing: ProfileListing,
    private readonly reboot: RebootStatus | undefined,
    /** This machine (a top-level node), or the remote machine node it is under. */
    readonly parent: MachineNode | undefined = undefined,
  ) {}

  get machine(): MachineKey {
    return this.parent?.machine ?? LOCAL_MACHINE;
  }

  setChildren(children: ExplorerNode[]): void {
    this.kids = children;
  }

  children(): ExplorerNode[] {
    return this.kids;
  }

  toTreeItem(): vscode.TreeItem {
    const { profile, problem, generations } = this.listing;
    const item = new vscode.TreeItem(profile.name, vscode.TreeItemCollapsibleState.Expanded);
    item.id = this.parent ? `profile:${this.machine}:${profile.path}` : `profile:${profile.path}`;
    const count = generations.length;
    item.description = problem ? problemTitle(problem) : `${count} generation${count === 1 ? '' : 's'}`;
    item.iconPath = problem
      ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'))
      : new vscode.ThemeIcon(PROFILE_ICONS[profile.kind]);
    const tooltip = new vscode.MarkdownString(`**${profile.name}** profile\n\n\`${profile.path}\``);
    if (problem) tooltip.appendMarkdown(`\n\n$(warning) ${escapeMarkdown(problem.message)}`);
    if (profile.kind === 'system' && this.reboot?.needed) {
      tooltip.appendMarkdown(
        `\n\n$(debug-restart) **Reboot needed**: ${escapeMarkdown(rebootReasons(this.reboot).join('; '))}`,
      );
    }
    tooltip.supportThemeIcons = true;
    item.tooltip = tooltip;
    // a remote machine's profile has its own menus (the local commands act on this machine)
    item.contextValue = `${this.parent ? 'machineProfile' : 'profile'} ${profile.kind}${problem ? ' problem' : ''}`;
    return item;
  }
}

export class GenerationNode {
  /** configurationRevision was looked up (found or not), so it is not asked for again. */
  revisionLoaded = false;

  constructor(
    readonly profile: ProfileRef,
    private readonly initial: Generation,
    readonly parent: ProfileNode,
    private readonly reboot: RebootStatus | undefined,
    /** The generation as the store has it now (details arrive after the row was made); the row's copy if gone. */
    private readonly lookup: (profilePath: string, generation: number) => Generation | undefined = () => undefined,
  ) {}

  get generation(): Generation {
    return this.lookup(this.profile.path, this.initial.generation) ?? this.initial;
  }

  /** The machine the generation is on (this one, or a remote machine of the fleet). */
  get machine(): MachineKey {
    return this.parent.machine;
  }

  static key(profile: ProfileRef, generation: Generation): string {
    return `${profile.path}#${generation.generation}`;
  }

  /** Space-separated tokens matched by the manifest's `viewItem =~ /\btoken\b/` menus. */
  contextValue(): string {
    const g = this.generation;
    // "machineGeneration" on a remote machine: the menus of this machine's generations must not match it
    const kind = this.machine === LOCAL_MACHINE ? 'generation' : 'machineGeneration';
    const tokens = [kind, this.profile.kind, g.missing ? 'missing' : 'present'];
    if (g.current) tokens.push('current');
    if (g.activated) tokens.push('activated');
    if (g.booted) tokens.push('booted');
    if (!g.current && !g.activated && !g.booted) tokens.push('deletable');
    if (g.configurationRevision) tokens.push('hasRevision');
    if (g.specialisations.length > 0) tokens.push('hasSpecialisations');
    return tokens.join(' ');
  }

  /** Short state words, in the order shown. */
  states(): string[] {
    return generationStates(this.generation, this.profile.kind);
  }

  toTreeItem(): vscode.TreeItem {
    const g = this.generation;
    // numbers right-aligned: padded with figure spaces (as wide as a digit) to the profile's widest number
    const widest = Math.max(...this.parent.listing.generations.map((x) => String(x.generation).length));
    const item = new vscode.TreeItem(
      String(g.generation).padStart(widest, '\u2007'),
      vscode.TreeItemCollapsibleState.Collapsed,
    );
    item.id =
      this.machine === LOCAL_MACHINE
        ? `generation:${GenerationNode.key(this.profile, g)}`
        : `generation:${this.machine}:${GenerationNode.key(this.profile, g)}`;
    // short enough for the default sidebar width: release, age, short commit. The states (activated, boot default,
    // booted) are the row's icon, its tooltip and what a screen reader hears; only "garbage-collected" is written,
    // it has no release or commit to show instead
    const states = this.states();
    const release = releaseOf(g);
    const age = formatAge(g.date);
    const commit = g.configurationRevision ? shortRevision(g.configurationRevision) : '';
    item.description = [g.missing ? 'garbage-collected' : release, age, commit].filter((p) => p !== '').join(' · ');
    item.iconPath = this.icon();
    item.tooltip = this.tooltip();
    item.contextValue = this.contextValue();
    // the profile's name leads for other profiles than the system, so "Generation 3" is never two rows; a screen
    // reader hears everything the row stands for
    const who = this.profile.kind === 'system' ? 'Generation' : `${this.profile.name} generation`;
    const version = g.nixosVersion ?? g.label ?? (g.missing ? '' : 'unknown version');
    const spoken = [
      states.join(', '),
      version ? `${this.profile.kind === 'system' ? 'NixOS ' : ''}${version}` : '',
      `${age} (${formatLocalDateTime(g.date)})`,
      commit ? `commit ${commit}` : '',
    ];
    item.accessibilityInformation = { label: `${who} ${g.generation}, ${spoken.filter((p) => p !== '').join(', ')}` };
    return item;
  }

  children(): ExplorerNode[] {
    const g = this.generation;
    const rows: ExplorerNode[] = [];
    if (g.missing) {
      rows.push(
        new DetailNode('Garbage-collected', 'the store path no longer exists; the link dangles', this, 'trash'),
      );
    }
    if (g.label) rows.push(new DetailNode('Label', g.label, this, 'tag'));
    if (g.nixosVersion) {
      rows.push(new DetailNode('NixOS', `${g.nixosVersion}${g.codename ? ` (${g.codename})` : ''}`, this, 'versions'));
    }
    if (g.kernelVersion) rows.push(new DetailNode('Kernel', g.kernelVersion, this, 'chip'));
    if (g.configurationRevision) rows.push(new DetailNode('Commit', g.configurationRevision, this, 'git-commit'));
    for (const name of g.specialisations) rows.push(new DetailNode('Specialisation', name, this, 'symbol-variable'));
    if (g.closureSize !== null) rows.push(new DetailNode('Closure size', formatBytes(g.closureSize), this, 'database'));
    rows.push(new DetailNode('Store path', g.storePath, this, 'file-symlink-directory'));
    return rows;
  }

  private icon(): vscode.ThemeIcon {
    const g = this.generation;
    if (g.missing) return new vscode.ThemeIcon('trash', new vscode.ThemeColor('disabledForeground'));
    if (g.activated && this.profile.kind === 'system' && this.reboot?.needed) {
      return new vscode.ThemeIcon('debug-restart', new vscode.ThemeColor('problemsWarningIcon.foreground'));
    }
    if (g.activated) return new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('testing.iconPassed'));
    if (g.current) return new vscode.ThemeIcon('debug-start', new vscode.ThemeColor('charts.blue'));
    if (g.booted) return new vscode.ThemeIcon('vm-running', new vscode.ThemeColor('charts.purple'));
    return new vscode.ThemeIcon('circle-outline');
  }

  private tooltip(): vscode.MarkdownString {
    const g = this.generation;
    const md = new vscode.MarkdownString('', true);
    md.supportThemeIcons = true;
    md.appendMarkdown(`**Generation ${g.generation}** of \`${this.profile.name}\`\n\n`);
    const states = this.states();
    if (states.length > 0) md.appendMarkdown(`${states.map((s) => `\`${s}\``).join(' ')}\n\n`);
    if (g.activated && this.profile.kind === 'system' && this.reboot?.needed) {
      md.appendMarkdown(
        `$(debug-restart) **Reboot needed**: ${escapeMarkdown(rebootReasons(this.reboot).join('; '))}\n\n`,
      );
    }
    const rows: Array<[string, string]> = [['Date', `${formatLocalDateTime(g.date)} (${formatAge(g.date)})`]];
    if (g.nixosVersion) rows.push(['NixOS', `${g.nixosVersion}${g.codename ? ` (${g.codename})` : ''}`]);
    if (g.label) rows.push(['Label', g.label]);
    if (g.kernelVersion) rows.push(['Kernel', g.kernelVersion]);
    rows.push(['Commit', g.configurationRevision ?? (g.missing ? 'unknown' : 'not recorded')]);
    rows.push(['Specialisations', g.specialisations.length > 0 ? g.specialisations.join(', ') : 'none']);
    if (g.closureSize !== null) rows.push(['Closure size', formatBytes(g.closureSize)]);
    rows.push(['Store path', g.storePath + (g.missing ? ' (garbage-collected)' : '')]);
    md.appendMarkdown('| | |\n|---|---|\n');
    for (const [key, value] of rows) md.appendMarkdown(`| ${key} | ${escapeTableCell(value)} |\n`);
    return md;
  }
}

export class DetailNode {
  constructor(
    readonly title: string,
    readonly value: string,
    readonly parent: ExplorerNode | undefined,
    private readonly icon?: string,
    /** A stable id for rows that are redrawn with new values (the fleet summary, a machine's drift). */
    private readonly id?: string,
  ) {}

  children(): ExplorerNode[] {
    return [];
  }

  toTreeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem(this.title, vscode.TreeItemCollapsibleState.None);
    if (this.id) item.id = this.id;
    item.description = this.value;
    item.tooltip = `${this.title}: ${this.value}`;
    if (this.icon) item.iconPath = new vscode.ThemeIcon(this.icon);
    item.contextValue = 'detail';
    return item;
  }
}

export class ProblemNode {
  constructor(
    readonly problem: ProfileProblem,
    readonly parent: ProfileNode,
  ) {}

  children(): ExplorerNode[] {
    return [];
  }

  toTreeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem(problemTitle(this.problem), vscode.TreeItemCollapsibleState.None);
    item.description = this.problem.message;
    item.tooltip = this.problem.message;
    item.iconPath = new vscode.ThemeIcon(
      this.problem.kind === 'permission-denied' ? 'lock' : 'warning',
      new vscode.ThemeColor('problemsWarningIcon.foreground'),
    );
    item.contextValue = `problem ${this.problem.kind}`;
    return item;
  }
}

function problemTitle(problem: ProfileProblem): string {
  switch (problem.kind) {
    case 'missing':
      return 'Profile not found';
    case 'permission-denied':
      return 'Permission denied';
    case 'not-a-profile':
      return 'Not a profile';
    default:
      return 'Cannot read profile';
  }
}

/** The release ("24.11") of a generation's version or label, or what there is when it has none. */
function releaseOf(g: Generation): string {
  const version = g.nixosVersion ?? g.label ?? '';
  return /^\d{2}\.\d{2}(?:pre)?/.exec(version)?.[0] ?? (version || 'unknown version');
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}

function escapeTableCell(text: string): string {
  return escapeMarkdown(text).replace(/\n/g, ' ');
}

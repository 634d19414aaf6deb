import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { profileWatchTarget, runDirWatchTarget, type WatchTarget } from '../../core/generations';
import { describeDrift } from '../../core/fleet/drift';
import { fleetSummaryOf } from '../../core/fleet/view';
import type { ProfileListing, RebootStatus } from '../../core/generations/types';
import { GenerationsStore, LOCAL_MACHINE, type MachineData, type RemoteMachineState } from '../../core/model/store';
import { describeFilter, matchesFilter, type GenerationFilter } from '../../core/plan/filter';
import type { Config } from '../config';
import { log } from '../log';
import { FleetSource } from './fleet';
import { GenerationsSource, rebootReasons } from './source';
import { DetailNode, GenerationNode, MachineNode, ProblemNode, ProfileNode, type ExplorerNode } from './nodes';

const REFRESH_DEBOUNCE_MS = 400;
/** How often the run directory's two links are stat-ed while the view is visible. */
const LINK_POLL_MS = 1000;

/** Context key `nixosGenerations.viewState` (package.json viewsWelcome `when` clauses). */
function setViewState(state: 'loading' | 'loaded' | 'empty'): Thenable<unknown> {
  return vscode.commands.executeCommand('setContext', 'nixosGenerations.viewState', state);
}

/**
 * The tree of profiles and generations, drawn from the GenerationsStore (core/model), which it fills: reads
 * profiles on refresh (cheap file-system reads only), adds closure sizes and configuration revisions lazily, and
 * refreshes by itself while visible when a profile link or the run directory's links change.
 */
export class GenerationsExplorer implements vscode.TreeDataProvider<ExplorerNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ExplorerNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly loaded = new vscode.EventEmitter<void>();
  /** Fires after every completed load (tests and the status bar listen). */
  readonly onDidLoad = this.loaded.event;

  private readonly source = new GenerationsSource();
  private loading: Promise<void> | undefined;
  private stale = true;
  private treeView: vscode.TreeView<ExplorerNode> | undefined;
  private filter: GenerationFilter | undefined;
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private readonly linkWatchers = new Set<string>();
  private debounce: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [this.changed, this.loaded];
  private generationNodes = new Map<string, GenerationNode>();
  private profileNodes: ProfileNode[] = [];
  /** The fleet's summary row and one node per remote machine, after this machine's profiles. */
  private fleetNodes: ExplorerNode[] = [];
  /** The remote machines are read only while the view is visible; this says a read is owed. */
  private fleetStale = true;
  readonly fleet: FleetSource;

  constructor(
    private readonly config: Config,
    /** What the tree shows; the status bar and the commands read it too. */
    readonly store: GenerationsStore = new GenerationsStore(),
    /** Where the fleet's last-seen times are kept between sessions (the extension's global state). */
    memory?: vscode.Memento,
  ) {
    this.fleet = new FleetSource(config, store, memory);
    const subscription = store.onDidChange((change) => {
      if (change.machine === LOCAL_MACHINE) return;
      // each machine is redrawn as soon as it answers; this machine's rows are not waited for, nor the others
      this.rebuildFleetNodes();
      this.changed.fire(undefined);
    });
    this.disposables.push({ dispose: () => subscription.dispose() });
  }

  /** The machines may have changed (setting, flake, trust): read them now when visible, else when shown. */
  fleetChanged(): void {
    if (this.treeView?.visible) void this.refreshFleet();
    else this.fleetStale = true;
  }

  /** Reads the remote machines again (the refresh command does this and the local read). */
  refreshFleet(): Promise<void> {
    this.fleetStale = false;
    return this.fleet.refresh();
  }

  /** Creates the view; called once from activate(). */
  attach(viewId: string): vscode.TreeView<ExplorerNode> {
    const view = vscode.window.createTreeView(viewId, {
      treeDataProvider: this,
      showCollapseAll: true,
      canSelectMany: true,
    });
    this.treeView = view;
    this.disposables.push(
      view,
      view.onDidChangeVisibility((event) => {
        if (event.visible) {
          this.syncWatchers();
          if (this.stale) void this.refresh();
          else if (this.fleetStale) void this.refreshFleet();
        } else {
          this.closeWatchers();
        }
      }),
      view.onDidExpandElement((event) => {
        if (event.element instanceof GenerationNode && event.element.machine === LOCAL_MACHINE) {
          void this.loadRevision(event.element);
        }
      }),
    );
    return view;
  }

  /** Re-reads every profile and redraws the tree. Concurrent calls share one load. */
  refresh(): Promise<void> {
    this.stale = true;
    if (this.loading) return this.loading.then(() => (this.stale ? this.refresh() : undefined));
    this.loading = this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  findGeneration(profilePath: string | undefined, number: number): GenerationNode | undefined {
    for (const node of this.generationNodes.values()) {
      if (node.generation.generation === number && (!profilePath || node.profile.path === profilePath)) return node;
    }
    return undefined;
  }

  async revealActivated(): Promise<void> {
    if (this.stale || !this.store.loaded()) await this.refresh();
    const activated = this.store.activated();
    if (!activated || !this.treeView) {
      void vscode.window.showInformationMessage('NixOS Generations: no activated generation was found.');
      return;
    }
    const node = this.generationNodes.get(GenerationNode.key(activated.profile, activated.generation));
    if (node) await this.treeView.reveal(node, { select: true, focus: true, expand: false });
  }

  getTreeItem(element: ExplorerNode): vscode.TreeItem {
    return element.toTreeItem();
  }

  async getChildren(element?: ExplorerNode): Promise<ExplorerNode[]> {
    if (!element) {
      if (this.stale && !this.loading) await this.refresh();
      else if (this.loading) await this.loading;
      return [...this.profileNodes, ...this.fleetNodes];
    }
    const filter = this.filter;
    if (filter && element instanceof ProfileNode && element.machine === LOCAL_MACHINE)
      return element.children().filter((n) => !(n instanceof GenerationNode) || matchesFilter(n.generation, filter));
    return element.children();
  }

  /** The filter typed in "Filter Generations…" (undefined: every generation), in the view's description. */
  get currentFilter(): GenerationFilter | undefined {
    return this.filter;
  }

  setFilter(filter: GenerationFilter | undefined): void {
    this.filter = filter && filter.text !== '' ? filter : undefined;
    void vscode.commands.executeCommand('setContext', 'nixosGenerations.filtered', this.filter !== undefined);
    this.updateFilterDescription();
    this.changed.fire(undefined);
  }

  private updateFilterDescription(): void {
    if (!this.treeView) return;
    const filter = this.filter;
    if (filter) {
      const generations = this.store.listings().flatMap((l) => l.generations);
      const shown = generations.filter((g) => matchesFilter(g, filter)).length;
      this.filterText = describeFilter(filter, shown, generations.length);
    } else this.filterText = undefined;
    this.treeView.description = this.filterText;
    this.updateViewMessage();
  }

  getParent(element: ExplorerNode): ExplorerNode | undefined {
    return element.parent;
  }

  async resolveTreeItem(item: vscode.TreeItem, element: ExplorerNode): Promise<vscode.TreeItem> {
    if (
      element instanceof GenerationNode &&
      element.machine === LOCAL_MACHINE &&
      element.generation.configurationRevision === null
    ) {
      await this.loadRevision(element);
      return element.toTreeItem();
    }
    return item;
  }

  dispose(): void {
    this.source.dispose();
    this.closeWatchers();
    if (this.debounce) clearTimeout(this.debounce);
    this.disposables.forEach((d) => d.dispose());
  }

  private async load(): Promise<void> {
    this.stale = false;
    const runDir = this.config.runDir;
    // the view's welcome text depends on it: "Reading…" until the first load ends, "No NixOS profile…" only when
    // nothing was found (before activation the key is unset, which shows "Reading…" too)
    if (this.store.listings().length === 0) void setViewState('loading');
    try {
      const profiles = await this.source.profiles(this.config.profiles);
      const [listings, reboot] = await Promise.all([
        Promise.all(profiles.map((profile) => this.source.readProfile(profile, runDir))),
        this.source.rebootStatus(runDir),
      ]);
      this.store.set({ machine: LOCAL_MACHINE, listings, reboot });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log.error(`reading profiles failed: ${message}`);
      this.store.set({ machine: LOCAL_MACHINE, listings: [], reboot: undefined, problem: message });
    }
    this.rebuildNodes();
    void setViewState(this.store.listings().length === 0 ? 'empty' : 'loaded');
    this.updateViewMessage();
    this.updateFilterDescription();
    this.syncWatchers();
    this.changed.fire(undefined);
    this.loaded.fire();
    const listings = this.store.listings();
    log.debug(
      `loaded ${listings.length} profiles, ${listings.reduce((n, l) => n + l.generations.length, 0)} generations`,
    );
    void this.loadClosureSizes();
    // the remote machines: only while someone looks, each one on its own, never holding up this machine's rows
    if (this.treeView?.visible) void this.refreshFleet();
    else this.fleetStale = true;
  }

  private rebuildNodes(): void {
    this.generationNodes = new Map();
    const reboot = this.store.rebootStatus();
    this.profileNodes = this.store
      .listings()
      .map((listing) =>
        this.profileNode(listing, reboot, undefined, (node) =>
          this.generationNodes.set(GenerationNode.key(node.profile, node.generation), node),
        ),
      );
    this.rebuildFleetNodes();
  }

  /** A profile's node with its generations, newest first, on this machine or under a remote machine's node. */
  private profileNode(
    listing: ProfileListing,
    reboot: RebootStatus | undefined,
    parent: MachineNode | undefined,
    made: (node: GenerationNode) => void = () => undefined,
  ): ProfileNode {
    const machine = parent?.machine ?? LOCAL_MACHINE;
    const lookup = (profilePath: string, n: number) => this.store.generation(profilePath, n, machine);
    const profileNode = new ProfileNode(listing, reboot, parent);
    const children = listing.problem
      ? [new ProblemNode(listing.problem, profileNode)]
      : [...listing.generations]
          .sort((a, b) => b.generation - a.generation)
          .map((generation) => {
            const node = new GenerationNode(listing.profile, generation, profileNode, reboot, lookup);
            made(node);
            return node;
          });
    if (!listing.problem && children.length === 0) {
      profileNode.setChildren([new DetailNode('No generations', 'this profile has no generation links', profileNode)]);
    } else {
      profileNode.setChildren(children);
    }
    return profileNode;
  }

  /** The fleet's rows from the store: the summary, then each remote machine with what is known of it. */
  private rebuildFleetNodes(): void {
    const remote = this.store
      .machineKeys()
      .map((key) => this.store.get(key))
      .filter((d): d is MachineData & { remote: RemoteMachineState } => d?.remote !== undefined)
      .sort((a, b) => a.remote.name.localeCompare(b.remote.name));
    const summary = fleetSummaryOf(remote);
    const nodes: ExplorerNode[] = [];
    if (summary) nodes.push(new DetailNode('Fleet', summary, undefined, 'server-process', 'fleet-summary'));
    for (const data of remote) {
      const machineNode = new MachineNode(data);
      const r = data.remote;
      const rows: ExplorerNode[] = [];
      const id = (what: string): string => `${data.machine}:${what}`;
      if (r.drift) rows.push(new DetailNode('Runs', describeDrift(r.drift), machineNode, 'git-commit', id('drift')));
      if (r.unreachable) {
        rows.push(new DetailNode('Unreachable', r.unreachable.message, machineNode, 'debug-disconnect', id('why')));
      }
      if (data.reboot?.needed) {
        rows.push(
          new DetailNode(
            'Reboot needed',
            rebootReasons(data.reboot).join('; '),
            machineNode,
            'debug-restart',
            id('reboot'),
          ),
        );
      }
      for (const listing of data.listings) rows.push(this.profileNode(listing, data.reboot, machineNode));
      machineNode.setChildren(rows);
      nodes.push(machineNode);
    }
    this.fleetNodes = nodes;
  }

  private updateViewMessage(): void {
    if (!this.treeView) return;
    const reboot = this.store.rebootStatus();
    // the filter goes into the message too: a view alone in its container shows no description
    const lines = [
      ...(reboot?.needed ? [`Reboot needed: ${rebootReasons(reboot).join('; ')}.`] : []),
      ...(this.filterText ? [`F${this.filterText.slice(1)}.`] : []),
    ];
    this.treeView.message = lines.length ? lines.join('\n') : undefined;
    this.treeView.badge = reboot?.needed
      ? { value: 1, tooltip: 'A reboot is needed to run the activated kernel' }
      : undefined;
  }

  /** "filter: 24.05 (4 of 30)" while a filter is on. */
  private filterText: string | undefined;

  private async loadClosureSizes(): Promise<void> {
    const storePaths = this.store
      .listings()
      .flatMap((l) => l.generations.filter((g) => !g.missing).map((g) => g.storePath));
    if (storePaths.length === 0) return;
    try {
      const sizes = await this.source.closureSizes(storePaths);
      const touched = this.store.patchGenerations(LOCAL_MACHINE, (g) => {
        const size = sizes.get(g.storePath);
        return size !== undefined ? { closureSize: size } : undefined;
      });
      if (touched > 0) this.changed.fire(undefined);
    } catch (error) {
      log.warn(`closure sizes unavailable: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async loadRevision(node: GenerationNode): Promise<void> {
    if (node.generation.configurationRevision !== null || node.generation.missing || node.revisionLoaded) return;
    node.revisionLoaded = true;
    try {
      const revision = await this.source.configurationRevision(node.generation);
      if (revision) {
        this.store.patchGenerations(LOCAL_MACHINE, (g, profile) =>
          profile.path === node.profile.path && g.generation === node.generation.generation
            ? { configurationRevision: revision }
            : undefined,
        );
        this.changed.fire(node);
      }
    } catch (error) {
      log.debug(`no configuration revision for ${node.generation.storePath}: ${String(error)}`);
    }
  }

  /**
   * While the view is visible: each profile's directory, woken only by the profile's own links (a new, deleted or
   * switched generation; core/generations' profileWatchTarget), and the two links of the run directory that matter — current-system and
   * booted-system — polled by stat, so a busy directory like /run is never watched as a whole.
   */
  private syncWatchers(): void {
    if (!this.treeView?.visible) return;
    // one watcher per directory, woken only by the entries of the profiles in it
    const targets = this.store.listings().map((l) => profileWatchTarget(l.profile));
    const dirs = new Map<string, WatchTarget[]>();
    for (const target of targets) dirs.set(target.directory, [...(dirs.get(target.directory) ?? []), target]);
    const links = new Set<string>(runDirWatchTarget(this.config.runDir).links);
    for (const [dir, watcher] of this.watchers) {
      if (!dirs.has(dir)) {
        watcher.close();
        this.watchers.delete(dir);
      }
    }
    for (const link of this.linkWatchers) {
      if (!links.has(link)) {
        fs.unwatchFile(link, this.onLinkChange);
        this.linkWatchers.delete(link);
      }
    }
    for (const [dir, inDir] of dirs) {
      if (this.watchers.has(dir)) continue;
      try {
        const watcher = fs.watch(dir, { persistent: false }, (_event, entry) => {
          if (entry === null || inDir.some((t) => t.matches(String(entry)))) this.scheduleRefresh();
        });
        watcher.on('error', () => {
          watcher.close();
          this.watchers.delete(dir);
        });
        this.watchers.set(dir, watcher);
      } catch (error) {
        log.debug(`cannot watch ${dir}: ${String(error)}`);
      }
    }
    for (const link of links) {
      if (this.linkWatchers.has(link)) continue;
      fs.watchFile(link, { persistent: false, interval: LINK_POLL_MS }, this.onLinkChange);
      this.linkWatchers.add(link);
    }
  }

  private readonly onLinkChange = (): void => this.scheduleRefresh();

  private closeWatchers(): void {
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
    for (const link of this.linkWatchers) fs.unwatchFile(link, this.onLinkChange);
    this.linkWatchers.clear();
  }

  private scheduleRefresh(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      if (this.treeView?.visible) void this.refresh();
      else this.stale = true;
    }, REFRESH_DEBOUNCE_MS);
  }
}

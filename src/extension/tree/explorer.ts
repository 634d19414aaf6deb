import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Generation, ProfileRef } from '../../core/generations/types';
import type { Config } from '../config';
import { log } from '../log';
import { GenerationsSource, rebootReasons, type ProfileListing, type RebootStatus } from './source';
import { DetailNode, GenerationNode, ProblemNode, ProfileNode, type ExplorerNode } from './nodes';

const REFRESH_DEBOUNCE_MS = 400;

/** Context key `nixosGenerations.viewState` (package.json viewsWelcome `when` clauses). */
function setViewState(state: 'loading' | 'loaded' | 'empty'): Thenable<unknown> {
  return vscode.commands.executeCommand('setContext', 'nixosGenerations.viewState', state);
}

/**
 * The tree of profiles and generations. Reads profiles on refresh (cheap file-system reads only), fills
 * in closure sizes and configuration revisions lazily, and refreshes by itself while visible when a
 * profile directory or the run directory changes.
 */
export class GenerationsExplorer implements vscode.TreeDataProvider<ExplorerNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ExplorerNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly loaded = new vscode.EventEmitter<void>();
  /** Fires after every completed load (tests and the status bar listen). */
  readonly onDidLoad = this.loaded.event;

  private readonly source = new GenerationsSource();
  private listings: ProfileListing[] = [];
  private reboot: RebootStatus | undefined;
  private loading: Promise<void> | undefined;
  private stale = true;
  private treeView: vscode.TreeView<ExplorerNode> | undefined;
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private debounce: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [this.changed, this.loaded];
  private generationNodes = new Map<string, GenerationNode>();
  private profileNodes: ProfileNode[] = [];

  constructor(private readonly config: Config) {}

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
        } else {
          this.closeWatchers();
        }
      }),
      view.onDidExpandElement((event) => {
        if (event.element instanceof GenerationNode) void this.loadRevision(event.element);
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

  /** The latest listings (for commands and tests). */
  snapshot(): readonly ProfileListing[] {
    return this.listings;
  }

  rebootStatus(): RebootStatus | undefined {
    return this.reboot;
  }

  /** The system profile's activated generation, if any profile has one. */
  activated(): { profile: ProfileRef; generation: Generation } | undefined {
    for (const listing of this.listings) {
      const generation = listing.generations.find((g) => g.activated);
      if (generation) return { profile: listing.profile, generation };
    }
    return undefined;
  }

  findGeneration(profilePath: string | undefined, number: number): GenerationNode | undefined {
    for (const node of this.generationNodes.values()) {
      if (node.generation.generation === number && (!profilePath || node.profile.path === profilePath)) return node;
    }
    return undefined;
  }

  async revealActivated(): Promise<void> {
    if (this.stale || this.listings.length === 0) await this.refresh();
    const activated = this.activated();
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
      return this.profileNodes;
    }
    return element.children();
  }

  getParent(element: ExplorerNode): ExplorerNode | undefined {
    return element.parent;
  }

  async resolveTreeItem(item: vscode.TreeItem, element: ExplorerNode): Promise<vscode.TreeItem> {
    if (element instanceof GenerationNode && element.generation.configurationRevision === null) {
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
    if (this.listings.length === 0) void setViewState('loading');
    try {
      const profiles = await this.source.profiles(this.config.profiles);
      const [listings, reboot] = await Promise.all([
        Promise.all(profiles.map((profile) => this.source.readProfile(profile, runDir))),
        this.source.rebootStatus(runDir),
      ]);
      this.listings = listings;
      this.reboot = reboot;
    } catch (error) {
      log.error(`reading profiles failed: ${error instanceof Error ? error.message : String(error)}`);
      this.listings = [];
    }
    this.rebuildNodes();
    void setViewState(this.listings.length === 0 ? 'empty' : 'loaded');
    this.updateViewMessage();
    this.syncWatchers();
    this.changed.fire(undefined);
    this.loaded.fire();
    log.debug(
      `loaded ${this.listings.length} profiles, ${this.listings.reduce((n, l) => n + l.generations.length, 0)} generations`,
    );
    void this.loadClosureSizes();
  }

  private rebuildNodes(): void {
    this.generationNodes = new Map();
    this.profileNodes = this.listings.map((listing) => {
      const profileNode = new ProfileNode(listing, this.reboot);
      const children = listing.problem
        ? [new ProblemNode(listing.problem, profileNode)]
        : [...listing.generations]
            .sort((a, b) => b.generation - a.generation)
            .map((generation) => {
              const node = new GenerationNode(listing.profile, generation, profileNode, this.reboot);
              this.generationNodes.set(GenerationNode.key(listing.profile, generation), node);
              return node;
            });
      if (!listing.problem && children.length === 0) {
        profileNode.setChildren([
          new DetailNode('No generations', 'this profile has no generation links', profileNode),
        ]);
      } else {
        profileNode.setChildren(children);
      }
      return profileNode;
    });
  }

  private updateViewMessage(): void {
    if (!this.treeView) return;
    const reboot = this.reboot;
    if (reboot?.needed) {
      this.treeView.message = `Reboot needed: ${rebootReasons(reboot).join('; ')}.`;
      this.treeView.badge = { value: 1, tooltip: 'A reboot is needed to run the activated kernel' };
    } else {
      this.treeView.message = undefined;
      this.treeView.badge = undefined;
    }
  }

  private async loadClosureSizes(): Promise<void> {
    const storePaths = this.listings.flatMap((l) => l.generations.filter((g) => !g.missing).map((g) => g.storePath));
    if (storePaths.length === 0) return;
    try {
      const sizes = await this.source.closureSizes(storePaths);
      let touched = false;
      for (const node of this.generationNodes.values()) {
        const size = sizes.get(node.generation.storePath);
        if (size !== undefined && node.generation.closureSize !== size) {
          node.generation.closureSize = size;
          touched = true;
        }
      }
      if (touched) this.changed.fire(undefined);
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
        node.generation.configurationRevision = revision;
        this.changed.fire(node);
      }
    } catch (error) {
      log.debug(`no configuration revision for ${node.generation.storePath}: ${String(error)}`);
    }
  }

  /** Watches each profile's directory and the run directory while the view is visible. */
  private syncWatchers(): void {
    if (!this.treeView?.visible) return;
    const wanted = new Set<string>(this.listings.map((l) => path.dirname(l.profile.path)));
    wanted.add(this.config.runDir);
    for (const [dir, watcher] of this.watchers) {
      if (!wanted.has(dir)) {
        watcher.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (this.watchers.has(dir)) continue;
      try {
        const watcher = fs.watch(dir, { persistent: false }, () => this.scheduleRefresh());
        watcher.on('error', () => {
          watcher.close();
          this.watchers.delete(dir);
        });
        this.watchers.set(dir, watcher);
      } catch (error) {
        log.debug(`cannot watch ${dir}: ${String(error)}`);
      }
    }
  }

  private closeWatchers(): void {
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
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

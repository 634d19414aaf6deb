/**
 * `nixosGenerations.diffGenerations`: compare generations in a webview (package, kernel, unit and size changes,
 * risky ones first). The sizes chart and the generation sides are shared with the safe switch (safe-switch.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { diffSystems, type GenerationDiff } from '../../core/diff';
import { formatDiffText } from '../../core/diff/format';
import { formatAge } from '../../core/format';
import { loadClosureSizes } from '../../core/generations';
import { compareBaseline } from '../../core/generations/states';
import type { Generation, ProfileListing } from '../../core/generations/types';
import type { CommandFactory, ExtensionServices } from '../context';
import { ensureLoaded, generationArgument, states } from '../deploy/support';
import { log } from '../log';
import type { SizePoint } from '../preview/messages';
import { PreviewPanel } from '../preview/panel';
import { GenerationNode, ProfileNode } from '../tree/nodes';

export interface Side {
  storePath: string;
  generation: number | null;
}

export function sideOf(g: Generation): Side {
  return { storePath: g.storePath, generation: g.generation };
}

export function isGenerationLike(value: unknown): value is { profile: unknown; generation: unknown } {
  return typeof value === 'object' && value !== null && 'generation' in value && 'profile' in value;
}

/** Closure sizes of every present generation of a listing, for the chart. */
export async function sizePoints(
  listing: ProfileListing | undefined,
  compared: readonly string[],
): Promise<SizePoint[]> {
  if (!listing) return [];
  const present = listing.generations.filter((g) => !g.missing);
  const { sizes } = await loadClosureSizes(
    present.map((g) => g.storePath),
    { timeoutMs: 30_000 },
  );
  return present
    .filter((g) => sizes.has(g.storePath))
    .map((g) => ({
      generation: g.generation,
      size: sizes.get(g.storePath)!,
      compared: compared.includes(g.storePath),
      activated: g.activated,
    }));
}

/** Two generations to compare, and the profile they belong to (null for bare store paths). */
interface Pair {
  from: Side;
  to: Side;
  listing: ProfileListing | null;
}

/** The two generations to compare from the command's arguments, or undefined when the user cancels. */
async function pickPair(services: ExtensionServices, arg: unknown, selected: unknown): Promise<Pair | undefined> {
  await ensureLoaded(services);
  if (typeof arg === 'object' && arg !== null && 'from' in arg && 'to' in arg) {
    const { from, to } = arg as { from: unknown; to: unknown };
    if (typeof from === 'string' && typeof to === 'string') {
      return {
        from: { storePath: fs.realpathSync(from), generation: null },
        to: { storePath: fs.realpathSync(to), generation: null },
        listing: null,
      };
    }
  }
  if (
    Array.isArray(selected) &&
    selected.length === 2 &&
    selected.every((s) => s instanceof GenerationNode) &&
    (selected as GenerationNode[])[0]!.profile.path === (selected as GenerationNode[])[1]!.profile.path
  ) {
    const nodes = selected as GenerationNode[];
    const [a, b] = nodes.map((n) => n.generation).sort((x, y) => x.generation - y.generation);
    const listing = services.store.listings().find((l) => l.profile.path === nodes[0]!.profile.path) ?? null;
    return { from: sideOf(a!), to: sideOf(b!), listing };
  }
  if (arg instanceof GenerationNode || isGenerationLike(arg) || typeof arg === 'number') {
    const target = await generationArgument(services, arg, 'Compare generation');
    if (!target) return undefined;
    const to = target.generation;
    const from = compareBaseline(target.listing.generations, to.generation, target.profile.kind);
    if (!from) throw new Error(`generation ${to.generation} has no other generation to be compared with`);
    return { from: sideOf(from), to: sideOf(to), listing: target.listing };
  }
  // from the palette: the profile (when there are several; a profile row's menu names it), then the generation to
  // look at, then what it is compared with, the baseline (what runs now) offered first
  const listings = services.store
    .listings()
    .filter((l) => !l.problem && l.generations.filter((g) => !g.missing).length >= 2)
    .filter((l) => !(arg instanceof ProfileNode) || l.profile.path === arg.listing.profile.path);
  if (listings.length === 0)
    throw new Error(
      arg instanceof ProfileNode
        ? `the ${arg.listing.profile.name} profile has no two generations to compare`
        : 'no profile has two generations to compare',
    );
  let listing = listings[0]!;
  if (listings.length > 1) {
    const picked = await vscode.window.showQuickPick(
      listings.map((l) => ({ label: l.profile.name, description: l.profile.path, listing: l })),
      { title: 'Compare generations of which profile?' },
    );
    if (!picked) return undefined;
    listing = picked.listing;
  }
  const kind = listing.profile.kind;
  const present = [...listing.generations].filter((g) => !g.missing).sort((a, b) => b.generation - a.generation);
  const item = (g: Generation) => ({
    label: `${g.generation}`,
    description: [g.nixosVersion ?? g.label ?? '', formatAge(g.date), states(g, kind)].filter(Boolean).join(' · '),
    generation: g,
  });
  const first = await vscode.window.showQuickPick(present.map(item), {
    title: `Compare ${listing.profile.name}: which generation do you want to look at?`,
    placeHolder: 'Generation (the newest first)',
  });
  if (!first) return undefined;
  const baseline = compareBaseline(listing.generations, first.generation.generation, kind);
  const others = present.filter((g) => g.generation !== first.generation.generation);
  const ordered = baseline ? [baseline, ...others.filter((g) => g !== baseline)] : others;
  const second = await vscode.window.showQuickPick(
    ordered.map((g) => ({ ...item(g), ...(g === baseline ? { detail: 'what runs now (the usual baseline)' } : {}) })),
    { title: `Compare generation ${first.generation.generation} with which generation?` },
  );
  if (!second) return undefined;
  const [a, b] = [first.generation, second.generation].sort((x, y) => x.generation - y.generation);
  return { from: sideOf(a!), to: sideOf(b!), listing };
}

/** `nixosGenerations.diffGenerations`: resolves with the diff shown (for tests and other extensions). */
export const diffGenerations: CommandFactory =
  (services) =>
  async (arg?: unknown, selected?: unknown): Promise<GenerationDiff | undefined> => {
    const pair = await pickPair(services, arg, selected);
    if (!pair) return undefined;
    const { from, to, listing } = pair;
    const diff = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'Comparing generations' },
      () => diffSystems(from.storePath, to.storePath, { generations: { from: from.generation, to: to.generation } }),
    );
    log.info(`diff ${from.generation ?? from.storePath} -> ${to.generation ?? to.storePath}\n${formatDiffText(diff)}`);
    const sizes = listing ? await sizePoints(listing, [from.storePath, to.storePath]).catch(() => []) : [];
    const name = (s: Side): string => (s.generation !== null ? String(s.generation) : path.basename(s.storePath));
    PreviewPanel.show(services.extensionContext.extensionUri, {
      type: 'show',
      mode: 'diff',
      title: listing
        ? `${listing.profile.name}: generations ${name(from)} → ${name(to)}`
        : `Generations ${name(from)} → ${name(to)}`,
      note: '',
      profileKind: listing?.profile.kind ?? 'system',
      diff,
      sizes,
    });
    return diff;
  };

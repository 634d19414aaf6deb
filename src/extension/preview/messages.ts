/**
 * The messages between the preview webview and the extension, typed and validated: the webview is treated as
 * untrusted input (anything it sends that does not match is dropped).
 */
import type { GenerationDiff } from '../../core/diff';
import { formatBytes } from '../../core/format';
import type { ProfileKind } from '../../core/generations/types';

/** One point of the closure-size chart. */
export interface SizePoint {
  generation: number;
  /** Closure size in bytes. */
  size: number;
  /** This generation is one of the two compared. */
  compared: boolean;
  activated: boolean;
}

/** Extension -> webview. */
export type ToWebview =
  | {
      type: 'show';
      /** 'confirm': a switch waits for the user's go (buttons "Switch safely" / "Cancel"); 'diff': just a comparison. */
      mode: 'diff' | 'confirm';
      title: string;
      diff: GenerationDiff;
      sizes: SizePoint[];
      /** Shown under the title (where the switch goes, the countdown length). */
      note: string;
      /** The compared profile's kind: only a system has a kernel and boots. */
      profileKind: ProfileKind;
      /** Fresh per show: a decision counts only for the preview it answers (set by PreviewPanel.show). */
      showId: string;
      /**
       * Every byte count the page shows (sizes, the magnitudes of changes), formatted by core/format's one rounding
       * function, keyed by the count: the summary and the rows can never round differently (set by PreviewPanel.show).
       */
      bytes: Record<string, string>;
    }
  /** The new configuration runs: "Keep" / "Revert now" with the seconds left until `deadline` (ms since 1970). */
  | { type: 'countdown'; deadline: number; where: string }
  /** The safe switch ended: what happened, in words; the buttons are gone. */
  | { type: 'outcome'; kind: 'kept' | 'reverted' | 'failed' | 'refused' | 'cancelled'; text: string };

/** The comparison itself. */
export type ShowMessage = Extract<ToWebview, { type: 'show' }>;

/** What a command asks the panel to show (the panel adds the show id and the formatted sizes). */
export type PreviewContent = Omit<ShowMessage, 'showId' | 'bytes'>;

/** The texts of every byte count in a comparison (absolute values: the page puts the sign in front). */
export function byteTexts(content: PreviewContent): Record<string, string> {
  const c = content.diff.closure;
  const counts = [
    c.sizeBefore,
    c.sizeAfter,
    c.sizeDelta,
    ...c.packages.map((p) => p.sizeDelta),
    ...content.sizes.map((p) => p.size),
  ];
  const out: Record<string, string> = {};
  for (const n of counts) if (Number.isFinite(n)) out[String(Math.abs(n))] = formatBytes(Math.abs(n));
  return out;
}

const SHOW_ID = /^[A-Za-z0-9_-]{8,64}$/;

/** Webview -> extension. */
export type FromWebview =
  | { type: 'ready' }
  | { type: 'decide'; decision: 'switch' | 'cancel'; showId: string }
  | { type: 'answer'; answer: 'keep' | 'revert' };

export function parseFromWebview(value: unknown): FromWebview | null {
  if (typeof value !== 'object' || value === null) return null;
  const m = value as Record<string, unknown>;
  if (m.type === 'ready' && Object.keys(m).length === 1) return { type: 'ready' };
  if (
    m.type === 'decide' &&
    (m.decision === 'switch' || m.decision === 'cancel') &&
    typeof m.showId === 'string' &&
    SHOW_ID.test(m.showId)
  ) {
    return { type: 'decide', decision: m.decision, showId: m.showId };
  }
  if (m.type === 'answer' && (m.answer === 'keep' || m.answer === 'revert')) {
    return { type: 'answer', answer: m.answer };
  }
  return null;
}

/** Said when a decision arrives for a preview that another one replaced in the panel. */
export const STALE_DECISION_MESSAGE =
  'NixOS Generations: that answer was for a preview another one has replaced, so nothing was switched. ' +
  'Answer the preview shown now.';

/** The decision a webview message makes for the preview shown now: null when it answers another (or no) preview. */
export function decisionFor(message: FromWebview, shownId: string | undefined): 'switch' | 'cancel' | null {
  if (message.type !== 'decide' || shownId === undefined || message.showId !== shownId) return null;
  return message.decision;
}

/**
 * Filtering a long history in the explorer: what the user typed, parsed into terms that must all match a generation.
 *
 *   12          generation 12          12-20      generations 12 to 20
 *   since:2024-05-01 / until:2024-06-30           by the generation's date (inclusive, UTC days)
 *   anything else: text in its version, label, kernel, commit or specialisations (case-insensitive)
 */
import type { Generation } from '../generations/types';

export interface GenerationFilter {
  /** What the user typed (trimmed), shown back in the view's description. */
  text: string;
  numbers: { from: number; to: number }[];
  /** ISO day, inclusive. */
  since?: string;
  until?: string;
  words: string[];
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function isDay(value: string): boolean {
  return DAY.test(value) && !Number.isNaN(new Date(`${value}T00:00:00Z`).getTime());
}

/** The filter, or why the text is not one (for the input box's validation message). */
export function parseFilter(input: string): { filter: GenerationFilter } | { error: string } {
  const text = input.trim();
  const filter: GenerationFilter = { text, numbers: [], words: [] };
  for (const term of text.split(/\s+/).filter(Boolean)) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(term);
    const date = /^(since|until):(.*)$/i.exec(term);
    if (range) {
      const from = Number(range[1]);
      const to = range[2] === undefined ? from : Number(range[2]);
      if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) return { error: `${term}: number too large` };
      filter.numbers.push({ from: Math.min(from, to), to: Math.max(from, to) });
    } else if (date) {
      const day = date[2]!;
      if (!isDay(day)) return { error: `${term}: write the day as YYYY-MM-DD (since:2024-05-01)` };
      if (date[1]!.toLowerCase() === 'since') filter.since = day;
      else filter.until = day;
    } else filter.words.push(term.toLowerCase());
  }
  if (filter.since && filter.until && filter.since > filter.until)
    return { error: `since:${filter.since} is after until:${filter.until}` };
  return { filter };
}

/** Whether a generation passes every term. */
export function matchesFilter(g: Generation, filter: GenerationFilter): boolean {
  if (filter.numbers.length > 0 && !filter.numbers.some((r) => g.generation >= r.from && g.generation <= r.to))
    return false;
  const day = g.date.slice(0, 10);
  if (filter.since && day < filter.since) return false;
  if (filter.until && day > filter.until) return false;
  if (filter.words.length === 0) return true;
  const haystack = [
    g.nixosVersion,
    g.label,
    g.release,
    g.codename,
    g.kernelVersion,
    g.configurationRevision,
    g.homeManagerVersion,
    ...g.specialisations,
  ]
    .filter((v): v is string => typeof v === 'string')
    .join(' ')
    .toLowerCase();
  return filter.words.every((w) => haystack.includes(w));
}

/** The view's description while a filter is on: what was typed and how many rows are left. */
export function describeFilter(filter: GenerationFilter, shown: number, total: number): string {
  return `filter: ${filter.text} (${shown} of ${total})`;
}

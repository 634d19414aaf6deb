/**
 * Conformance of our Nix parser with real Nix: parses the same files with `nix-instantiate --parse` (one
 * process for many files, restarted after each file it rejects) and with `parse()` + `checkScope()`, and
 * lists every file where the two disagree on accept/reject.
 *
 *   node out/test/conformance/compare.js [--mutants N] [--generate N] [--seed S] [--jobs J] [--json] [--show K] PATH...
 *
 * PATH: .nix files or directories (searched recursively). `--mutants N`: also N one-edit mutants per file
 * (truncation, or deleting/duplicating one bracket, quote or semicolon), written to a temporary directory,
 * deterministic for a given seed. `--generate N`: also N random programs (generate.ts), half of them broken by
 * one token. Exit 1 when there is a disagreement.
 *
 * Every file must also round-trip: printing our tree gives back its exact text (a failure is a disagreement).
 *
 * How differences that are not bugs are counted (Nix 2.8 is the reference available offline):
 * - Nix's `--parse` also rejects undefined variables and duplicate attributes. We compare those with
 *   `checkScope(root, { merge: 'nix-2.8', globals: 2.8's, anyDunder: false })`, which reproduces 2.8's rules.
 * - `|>` and `<|` are newer than 2.8: a file that 2.8 rejects and that uses them counts as `newer-syntax`.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile, realpath } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { runProcess } from '../../src/core/exec/process';
import { checkScope, LineIndex, NIX_GLOBALS, parse, printTree, tokensOf } from '../../src/core/nix';
import { generatePrograms } from './generate';

/** Nix 2.8's `__`-prefixed globals (`builtins.attrNames builtins` that are not also unprefixed). */
const NIX28_DUNDER = (
  'add addErrorContext all any appendContext attrNames attrValues bitAnd bitOr bitXor catAttrs ceil ' +
  'compareVersions concatLists concatMap concatStringsSep currentSystem currentTime deepSeq div elem elemAt ' +
  "fetchurl filter filterSource findFile floor foldl' fromJSON functionArgs genList genericClosure getAttr " +
  'getContext getEnv groupBy hasAttr hasContext hashFile hashString head intersectAttrs isAttrs isBool ' +
  'isFloat isFunction isInt isList isPath isString langVersion length lessThan listToAttrs mapAttrs match ' +
  'mul nixPath nixVersion parseDrvName partition path pathExists readDir readFile replaceStrings seq sort ' +
  'split splitVersion storeDir storePath stringLength sub substring tail toFile toJSON toPath toXML trace ' +
  'tryEval typeOf unsafeDiscardOutputDependency unsafeDiscardStringContext unsafeGetAttrPos zipAttrsWith'
)
  .split(' ')
  .map((n) => `__${n}`);
const NIX28_GLOBALS: ReadonlySet<string> = new Set([...NIX_GLOBALS, ...NIX28_DUNDER]);

export interface NixVerdict {
  ok: boolean;
  message?: string;
  line?: number;
  column?: number;
}

export interface OurVerdict {
  /** Printing the tree gave back the exact text. */
  roundTrip: boolean;
  syntax: { message: string; line: number; column: number }[];
  scope: { message: string; line: number; column: number }[];
  usesPipes: boolean;
}

export type Outcome =
  | 'accept-both'
  | 'reject-both'
  | 'reject-both-scope'
  | 'newer-syntax'
  | 'nix-only-reject'
  | 'ours-only-reject'
  | 'unreadable';

export interface FileResult {
  file: string;
  /** For mutants: the original file and the edit. */
  origin?: { file: string; edit: string };
  nix: NixVerdict;
  ours: OurVerdict;
  outcome: Outcome;
  /** Both rejected, and our first error is on the line Nix names. */
  sameLine?: boolean;
}

export interface Summary {
  files: number;
  counts: Record<Outcome, number>;
  sameLine: number;
  disagreements: FileResult[];
  results: FileResult[];
}

/** `.nix` files under the given paths, sorted. */
export async function collectNixFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const visit = async (p: string): Promise<void> => {
    const s = await stat(p);
    if (s.isDirectory()) {
      const entries = await readdir(p, { withFileTypes: true });
      for (const e of entries) {
        const child = path.join(p, e.name);
        if (e.isDirectory()) await visit(child);
        else if (e.isFile() && e.name.endsWith('.nix')) out.push(child);
      }
    } else out.push(p);
  };
  for (const p of paths) await visit(p);
  return out.sort();
}

const LOCATION = /^\s*at (.+):(\d+):(\d+):\s*$/m;

/**
 * Runs `nix-instantiate --parse` over the files with as few processes as possible: it stops at the first file
 * it rejects, so we find that file in the error's `at FILE:L:C:` and start again after it.
 */
export async function nixVerdicts(
  allFiles: readonly string[],
  options: { single?: ReadonlySet<string>; concurrency?: number } = {},
): Promise<Map<string, NixVerdict>> {
  const verdicts = new Map<string, NixVerdict>();
  const env = { NIX_REMOTE: 'dummy://', NIX_PATH: '', NIX_CONFIG: 'build-users-group =' };
  // Files in `single` (those we expect Nix to reject) get a process each, several at a time: each
  // rejection ends a process anyway, and independent processes can run side by side.
  const single = allFiles.filter((f) => options.single?.has(f));
  const files = allFiles.filter((f) => !options.single?.has(f));
  const runOne = async (file: string): Promise<void> => {
    const one = await runProcess(['nix-instantiate', '--parse', path.resolve(file)], { env, timeoutMs: 60_000 });
    if (one.exitCode === 0) {
      verdicts.set(file, { ok: true });
      return;
    }
    const v: NixVerdict = { ok: false, message: /^error: (.*)$/m.exec(one.stderr)?.[1] ?? one.stderr.trim() };
    const loc = LOCATION.exec(one.stderr);
    if (loc) {
      v.line = Number(loc[2]);
      v.column = Number(loc[3]);
    }
    verdicts.set(file, v);
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < single.length) await runOne(single[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));

  const absolute = await Promise.all(files.map(async (f) => realpath(f).catch(() => path.resolve(f))));
  let i = 0;
  while (i < files.length) {
    const chunk = absolute.slice(i, i + 1000);
    const result = await runProcess(['nix-instantiate', '--parse', ...chunk], { env, timeoutMs: 300_000 });
    if (result.exitCode === 0) {
      for (let k = 0; k < chunk.length; k++) verdicts.set(files[i + k]!, { ok: true });
      i += chunk.length;
      continue;
    }
    const message = /^error: (.*)$/m.exec(result.stderr)?.[1] ?? result.stderr.trim().split('\n')[0] ?? 'failed';
    const at = LOCATION.exec(result.stderr);
    const failedAt = at ? chunk.indexOf(at[1]!) : -1;
    if (failedAt < 0) {
      // Could not tell which file: one by one for this chunk.
      for (let k = 0; k < chunk.length; k++) await runOne(files[i + k]!);
      i += chunk.length;
      continue;
    }
    for (let k = 0; k < failedAt; k++) verdicts.set(files[i + k]!, { ok: true });
    verdicts.set(files[i + failedAt]!, { ok: false, message, line: Number(at![2]), column: Number(at![3]) });
    i += failedAt + 1;
  }
  return verdicts;
}

/** Our verdict on a text: syntax errors, scope errors as 2.8 checks them, and whether `|>`/`<|` occur. */
export function ourVerdict(text: string): OurVerdict {
  const { root, errors } = parse(text);
  const index = new LineIndex(text);
  const at = (offset: number): { line: number; column: number } => {
    const p = index.positionAt(offset);
    return { line: p.line + 1, column: p.character + 1 };
  };
  const scope = errors.length ? [] : checkScope(root, { merge: 'nix-2.8', globals: NIX28_GLOBALS, anyDunder: false });
  return {
    roundTrip: printTree(root) === text,
    syntax: errors.map((e) => ({ message: e.message, ...at(e.start) })),
    scope: scope.map((e) => ({ message: e.message, ...at(e.start) })),
    usesPipes: tokensOf(root).some((t) => t.kind === 'PipeRight' || t.kind === 'PipeLeft'),
  };
}

function isScopeMessage(message: string | undefined): boolean {
  return !!message && (message.startsWith('undefined variable') || message.includes('already defined'));
}

export function classify(nix: NixVerdict, ours: OurVerdict): { outcome: Outcome; sameLine?: boolean } {
  const oursSyntax = ours.syntax.length > 0;
  const oursScope = ours.scope.length > 0;
  if (nix.ok) return { outcome: oursSyntax || oursScope ? 'ours-only-reject' : 'accept-both' };
  if (isScopeMessage(nix.message)) {
    if (oursScope) return { outcome: 'reject-both-scope' };
    // Nix reports duplicate attributes while parsing, so one may come before a syntax error.
    if (oursSyntax && nix.message!.includes('already defined')) return { outcome: 'reject-both' };
    return { outcome: oursSyntax ? 'reject-both' : 'nix-only-reject' };
  }
  if (oursSyntax) return { outcome: 'reject-both', sameLine: ours.syntax[0]!.line === nix.line };
  if (ours.usesPipes) return { outcome: 'newer-syntax' };
  return { outcome: oursScope ? 'reject-both' : 'nix-only-reject' };
}

/** A tiny deterministic PRNG (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EDIT_CHARS = '{}[]();"\'';

/** One-edit mutants of a text: truncate, or delete/duplicate one bracket, quote or semicolon. */
export function mutants(text: string, count: number, rand: () => number): { text: string; edit: string }[] {
  const spots: number[] = [];
  for (let i = 0; i < text.length; i++) if (EDIT_CHARS.includes(text[i]!)) spots.push(i);
  const out: { text: string; edit: string }[] = [];
  for (let k = 0; k < count; k++) {
    const r = rand();
    if (r < 0.25 || spots.length === 0) {
      const at = Math.floor(rand() * (text.length + 1));
      out.push({ text: text.slice(0, at), edit: `truncate at ${at}` });
    } else {
      const at = spots[Math.floor(rand() * spots.length)]!;
      if (r < 0.65) out.push({ text: text.slice(0, at) + text.slice(at + 1), edit: `delete '${text[at]}' at ${at}` });
      else out.push({ text: text.slice(0, at + 1) + text.slice(at), edit: `duplicate '${text[at]}' at ${at}` });
    }
  }
  return out;
}

export interface CompareOptions {
  mutantsPerFile?: number;
  seed?: number;
  /** Also this many random programs (see generate.ts), from `seed`. */
  generated?: number;
  /** Nix processes run side by side for files judged one at a time (default 4). */
  concurrency?: number;
}

/** Compares Nix and our parser on the files (and their mutants). */
export async function compare(files: readonly string[], options: CompareOptions = {}): Promise<Summary> {
  const entries: { file: string; text: string; origin?: { file: string; edit: string } }[] = [];
  const unreadable: string[] = [];
  for (const file of files) {
    try {
      const bytes = await readFile(file);
      const text = bytes.toString('utf8');
      if (Buffer.from(text, 'utf8').equals(bytes)) entries.push({ file, text });
      else unreadable.push(file);
    } catch {
      unreadable.push(file);
    }
  }
  let tmp: string | undefined;
  try {
    if ((options.mutantsPerFile ?? 0) > 0 || (options.generated ?? 0) > 0) {
      tmp = await mkdtemp(path.join(os.tmpdir(), 'nix-mutants-'));
    }
    if (tmp && options.generated) {
      const programs = generatePrograms(options.generated, options.seed ?? 1);
      for (let k = 0; k < programs.length; k++) {
        const file = path.join(tmp, `generated-${k}.nix`);
        await writeFile(file, programs[k]!);
        entries.push({ file, text: programs[k]!, origin: { file: 'generated', edit: `program ${k}` } });
      }
    }
    if (tmp && options.mutantsPerFile && options.mutantsPerFile > 0) {
      const rand = random(options.seed ?? 1);
      const originals = entries.filter((e) => !e.origin);
      let n = 0;
      for (const e of originals) {
        for (const m of mutants(e.text, options.mutantsPerFile, rand)) {
          const file = path.join(tmp, `${n++}-${path.basename(e.file)}`);
          await writeFile(file, m.text);
          entries.push({ file, text: m.text, origin: { file: e.file, edit: m.edit } });
        }
      }
    }
    const ours = new Map(entries.map((e) => [e.file, ourVerdict(e.text)]));
    const expectReject = new Set(
      entries
        .filter((e) => {
          const v = ours.get(e.file)!;
          return v.syntax.length > 0 || v.scope.length > 0 || v.usesPipes;
        })
        .map((e) => e.file),
    );
    const verdicts = await nixVerdicts(
      entries.map((e) => e.file),
      { single: expectReject, concurrency: options.concurrency ?? 4 },
    );
    const counts: Record<Outcome, number> = {
      'accept-both': 0,
      'reject-both': 0,
      'reject-both-scope': 0,
      'newer-syntax': 0,
      'nix-only-reject': 0,
      'ours-only-reject': 0,
      unreadable: unreadable.length,
    };
    const results: FileResult[] = [];
    let sameLine = 0;
    for (const e of entries) {
      const nix = verdicts.get(e.file) ?? { ok: false, message: 'no verdict' };
      const mine = ours.get(e.file)!;
      const { outcome, sameLine: same } = classify(nix, mine);
      counts[outcome]++;
      if (same) sameLine++;
      const r: FileResult = { file: e.file, nix, ours: mine, outcome };
      if (e.origin) r.origin = e.origin;
      if (same !== undefined) r.sameLine = same;
      results.push(r);
    }
    const disagreements = results.filter(
      (r) => r.outcome === 'nix-only-reject' || r.outcome === 'ours-only-reject' || !r.ours.roundTrip,
    );
    return { files: entries.length, counts, sameLine, disagreements, results };
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

function describe(r: FileResult): string {
  const where = r.origin ? `${r.origin.file} (${r.origin.edit})` : r.file;
  const nix = r.nix.ok ? 'nix: accepted' : `nix: ${r.nix.line ?? '?'}:${r.nix.column ?? '?'}: ${r.nix.message}`;
  const first = r.ours.syntax[0] ?? r.ours.scope[0];
  const ours = `${first ? `ours: ${first.line}:${first.column}: ${first.message}` : 'ours: accepted'}${r.ours.roundTrip ? '' : ' (TREE DOES NOT PRINT BACK TO THE FILE)'}`;
  return `${r.outcome} ${where}\n    ${nix}\n    ${ours}`;
}

async function main(argv: string[]): Promise<number> {
  let mutantsPerFile = 0;
  let seed = 1;
  let json = false;
  let show = 20;
  let concurrency = 4;
  let generated = 0;
  const paths: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--mutants') mutantsPerFile = Number(argv[++i]);
    else if (a === '--seed') seed = Number(argv[++i]);
    else if (a === '--json') json = true;
    else if (a === '--show') show = Number(argv[++i]);
    else if (a === '--jobs') concurrency = Number(argv[++i]);
    else if (a === '--generate') generated = Number(argv[++i]);
    else paths.push(a);
  }
  if (paths.length === 0 && generated === 0) paths.push(path.resolve(__dirname, '../../../test/conformance/cases'));
  const files = await collectNixFiles(paths);
  const summary = await compare(files, { mutantsPerFile, seed, concurrency, generated });
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...summary, results: undefined }, null, 2)}\n`);
  } else {
    process.stdout.write(`files: ${summary.files}\n`);
    const roundTrips = summary.results.filter((r) => r.ours.roundTrip).length;
    process.stdout.write(`  round trip (tree prints back the exact text): ${roundTrips}/${summary.files}\n`);
    for (const [k, v] of Object.entries(summary.counts)) process.stdout.write(`  ${k}: ${v}\n`);
    const bothSyntax = summary.counts['reject-both'];
    process.stdout.write(`  first error on the same line as nix (syntax rejects): ${summary.sameLine}/${bothSyntax}\n`);
    for (const r of summary.disagreements.slice(0, show)) process.stdout.write(`${describe(r)}\n`);
    for (const r of summary.results.filter((x) => x.outcome === 'newer-syntax').slice(0, show)) {
      process.stdout.write(`${describe(r)}\n`);
    }
  }
  return summary.disagreements.length > 0 ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 2;
    },
  );
}

import { optionValue, parseArgs, UsageError } from '../args';
import type { CliIO } from '../io';
import { lintPaths } from '../../core/lint/engine';
import type { LintOptions, LintRun } from '../../core/lint/engine';
import { Evaluator } from '../../core/eval/evaluator';
import { lintWithEvaluation } from '../../core/eval/lint';
import { formatJson, formatSarif, formatText } from '../../core/lint/format';

/**
 * `nixos-generations lint [PATH]... [--base REV] [--format text|json|sarif] [--run-dir D] [--eval]`:
 * stateVersion diagnostics; exit 1 when any error is found, 2 on bad usage. With `--eval` each flake host is
 * also evaluated by `nix` from PATH (offline, nothing built; results cached under $XDG_CACHE_HOME).
 */
export async function run(args: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(args, {
    base: { value: true },
    format: { value: true },
    'run-dir': { value: true },
    eval: {},
  });
  const format = optionValue(parsed, 'format') ?? 'text';
  if (format !== 'text' && format !== 'json' && format !== 'sarif') {
    throw new UsageError(`--format must be text, json or sarif, not '${format}'`);
  }
  const base = optionValue(parsed, 'base');
  // The activated generation is consulted where there is one (a NixOS machine); --run-dir '' turns it off.
  const given = optionValue(parsed, 'run-dir');
  const { existsSync } = await import('node:fs');
  const runDir = given ?? (existsSync('/run/current-system') ? '/run' : undefined);
  const path = await import('node:path');
  const paths = (parsed.positionals.length ? parsed.positionals : ['.']).map((p) => path.resolve(io.cwd, p));
  const options = { ...(base !== undefined ? { base } : {}), ...(runDir ? { runDir } : {}) };
  const result = parsed.flags.has('eval') ? await lintEvaluated(paths, options, io) : await lintPaths(paths, options);
  for (const note of result.notes) io.err(`nixos-generations lint: ${note}\n`);
  if (result.notes.some((n) => n.includes('no such file'))) return 2;
  const version = io.env.NIXOS_GENERATIONS_VERSION ?? '0.1.0';
  if (format === 'json') io.out(formatJson(result.diagnostics, io.cwd));
  else if (format === 'sarif') io.out(formatSarif(result.diagnostics, io.cwd, version));
  else io.out(formatText(result.diagnostics, io.cwd));
  return result.diagnostics.some((d) => d.severity === 'error') ? 1 : 0;
}

async function lintEvaluated(paths: string[], options: LintOptions, io: CliIO): Promise<LintRun> {
  const path = await import('node:path');
  const os = await import('node:os');
  const cacheHome = io.env.XDG_CACHE_HOME || path.join(io.env.HOME || os.homedir(), '.cache');
  const evaluator = new Evaluator({
    cacheDir: path.join(cacheHome, 'nixos-generations', 'eval'),
    env: io.env,
    log: (line) => io.err(`nixos-generations lint: ${line}\n`),
  });
  return lintWithEvaluation(paths, options, evaluator);
}

/** A small, strict argument parser for the CLI: `--flag`, `--opt value`, `--opt=value`, repeated options, positionals. */

export interface OptionSpec {
  /** Takes a value (`--profile P`); otherwise a boolean flag. */
  value?: boolean;
  /** May be given several times (values collected in order). */
  repeat?: boolean;
}

export interface ParsedArgs {
  positionals: string[];
  flags: Set<string>;
  values: Map<string, string[]>;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseArgs(argv: readonly string[], spec: Record<string, OptionSpec>): ParsedArgs {
  const parsed: ParsedArgs = { positionals: [], flags: new Set(), values: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      parsed.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      parsed.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const option = spec[name];
    if (!option) throw new UsageError(`unknown option --${name}`);
    if (!option.value) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      parsed.flags.add(name);
      continue;
    }
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`--${name} needs a value`);
      value = next;
      i++;
    }
    const list = parsed.values.get(name) ?? [];
    if (list.length > 0 && !option.repeat) throw new UsageError(`--${name} given more than once`);
    list.push(value);
    parsed.values.set(name, list);
  }
  return parsed;
}

/** The last value of an option, or undefined. */
export function optionValue(parsed: ParsedArgs, name: string): string | undefined {
  const list = parsed.values.get(name);
  return list?.[list.length - 1];
}

/** The nixosConfigurations names of a flake: read from flake.nix by our parser, else asked of `nix eval`. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runProcess } from '../exec/process';
import { flakeHostNames } from './pin';

/**
 * The names written in `<dir>/flake.nix`, else `nix eval` of the flake's nixosConfigurations (null when neither
 * says). `warn` receives why the evaluation failed.
 */
export async function flakeHosts(
  flake: string,
  dir: string | undefined,
  warn: (message: string) => void = () => undefined,
): Promise<string[] | null> {
  let names: string[] | null = null;
  if (dir) {
    try {
      names = flakeHostNames(fs.readFileSync(path.join(dir, 'flake.nix'), 'utf8'));
    } catch {
      names = null;
    }
  }
  if (names !== null && names.length > 0) return names;
  return evalHostNames(flake, warn);
}

async function evalHostNames(flake: string, warn: (message: string) => void): Promise<string[] | null> {
  try {
    const result = await runProcess(
      [
        'nix',
        '--extra-experimental-features',
        'nix-command flakes',
        'eval',
        '--json',
        `${flake}#nixosConfigurations`,
        '--apply',
        'builtins.attrNames',
      ],
      { timeoutMs: 60000 },
    );
    if (result.exitCode !== 0) {
      warn(`nix eval of the flake's hosts failed: ${result.stderr.trim().split('\n').pop() ?? ''}`);
      return null;
    }
    const value: unknown = JSON.parse(result.stdout);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : null;
  } catch (error) {
    warn(`nix eval of the flake's hosts failed: ${String(error)}`);
    return null;
  }
}

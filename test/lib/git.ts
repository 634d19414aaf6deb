/** Real git repositories for tests: an environment free of the user's git config, and flake.lock text. */
import { runChecked } from '../../src/core/exec/process';

/** git with no global or system config and a fixed identity, so tests behave the same on every machine. */
export const GIT_ENV = {
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
};

/** Runs git in `dir` with GIT_ENV; rejects when it fails. Returns trimmed stdout. */
export async function git(dir: string, ...args: string[]): Promise<string> {
  return (await runChecked(['git', '-C', dir, ...args], { env: GIT_ENV })).stdout.trim();
}

/** A flake.lock whose nixpkgs input is github:NixOS/nixpkgs/<ref>, locked at 2024-10-27. */
export function nixpkgsLock(ref: string): string {
  return JSON.stringify({
    nodes: {
      nixpkgs: {
        locked: { lastModified: 1730000000, owner: 'NixOS', repo: 'nixpkgs', rev: 'a'.repeat(40), type: 'github' },
        original: { owner: 'NixOS', repo: 'nixpkgs', ref, type: 'github' },
      },
      root: { inputs: { nixpkgs: 'nixpkgs' } },
    },
    root: 'root',
    version: 7,
  });
}

/** Test helpers: write a project into a temporary directory and lint it with the real engine. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { lintPaths } from '../../../src/core/lint/engine';
import type { MachineFacts } from '../../../src/core/lint/machine';
import type { LintDiagnostic } from '../../../src/core/lint/types';

export interface TempProject {
  dir: string;
  write(rel: string, text: string): void;
  cleanup(): void;
}

export function tempProject(files: Record<string, string>): TempProject {
  const dir = mkdtempSync(path.join(tmpdir(), 'nixgen-lint-'));
  const write = (rel: string, text: string): void => {
    const p = path.join(dir, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, text);
  };
  for (const [rel, text] of Object.entries(files)) write(rel, text);
  return { dir, write, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Lints files (no git comparison) and returns the diagnostics with paths relative to the project. The folder is
 * linted (only what a configuration reaches), or the files of `named` (linted whether reached or not).
 */
export async function lintFiles(
  files: Record<string, string>,
  options: { machine?: MachineFacts; named?: readonly string[] } = {},
): Promise<(LintDiagnostic & { rel: string })[]> {
  const p = tempProject(files);
  const { named = [], ...rest } = options;
  try {
    const run = await lintPaths(named.length ? named.map((n) => path.join(p.dir, n)) : [p.dir], {
      base: '',
      ...rest,
    });
    return run.diagnostics.map((d) => ({ ...d, rel: path.relative(p.dir, d.file) }));
  } finally {
    p.cleanup();
  }
}

export function codes(list: readonly LintDiagnostic[]): string[] {
  return list.map((d) => `${d.severity}:${d.code}`);
}

/** A flake.lock with one nixpkgs input on `ref` (or a pinned revision when ref is undefined). */
export function lockFor(ref: string | undefined, lastModified = 1719000000): string {
  return JSON.stringify({
    nodes: {
      nixpkgs: {
        locked: {
          lastModified,
          narHash: 'sha256-x',
          owner: 'NixOS',
          repo: 'nixpkgs',
          rev: 'a'.repeat(40),
          type: 'github',
        },
        original: ref
          ? { owner: 'NixOS', repo: 'nixpkgs', ref, type: 'github' }
          : { owner: 'NixOS', repo: 'nixpkgs', rev: 'a'.repeat(40), type: 'github' },
      },
      root: { inputs: { nixpkgs: 'nixpkgs' } },
    },
    root: 'root',
    version: 7,
  });
}

/** A flake with one host whose module is `hosts/h/configuration.nix`. */
export function hostFlake(): string {
  return `{
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";
  outputs = { nixpkgs, ... }: {
    nixosConfigurations.h = nixpkgs.lib.nixosSystem {
      modules = [ ./hosts/h/configuration.nix ];
    };
  };
}
`;
}

/** Output formats of `nixos-generations lint`: text for people, the contract's JSON, and SARIF 2.1.0 for code scanning. */
import * as path from 'node:path';
import type { DiagnosticCode, LintDiagnostic, Severity } from './types';

export interface JsonDiagnostic {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: Severity;
  code: DiagnosticCode;
  message: string;
  /** Only on `stateversion-raise-preview` (lint --eval). */
  raise?: LintDiagnostic['raise'];
}

/** A path as shown to the user: relative to `cwd` when inside it, else absolute; always with `/`. */
function displayPath(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  const shown = rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
  return shown.split(path.sep).join('/');
}

function toJson(diagnostics: readonly LintDiagnostic[], cwd: string): JsonDiagnostic[] {
  return diagnostics.map((d) => ({
    file: displayPath(d.file, cwd),
    line: d.range.start.line + 1,
    column: d.range.start.character + 1,
    endLine: d.range.end.line + 1,
    endColumn: d.range.end.character + 1,
    severity: d.severity,
    code: d.code,
    message: d.message,
    ...(d.raise ? { raise: d.raise } : {}),
  }));
}

export function formatJson(diagnostics: readonly LintDiagnostic[], cwd: string): string {
  return `${JSON.stringify(toJson(diagnostics, cwd), null, 2)}\n`;
}

export function formatText(diagnostics: readonly LintDiagnostic[], cwd: string): string {
  const lines = diagnostics.map(
    (d) =>
      `${displayPath(d.file, cwd)}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.severity}: ${oneLine(d.message)} [${d.code}]`,
  );
  const count = (s: Severity): number => diagnostics.filter((d) => d.severity === s).length;
  const summary =
    diagnostics.length === 0
      ? 'no problems found'
      : `${count('error')} error(s), ${count('warning')} warning(s), ${count('information') + count('hint')} hint(s)`;
  return `${lines.join('\n')}${lines.length ? '\n' : ''}${summary}\n`;
}

function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ');
}

const RULE_DESCRIPTIONS: Record<DiagnosticCode, string> = {
  'stateversion-missing': 'A NixOS or home-manager configuration sets no stateVersion.',
  'stateversion-invalid': 'stateVersion is not a NixOS (or home-manager) release in the "YY.MM" format.',
  'stateversion-newer-than-nixpkgs': 'stateVersion is newer than the nixpkgs release the configuration is built with.',
  'stateversion-changed':
    'stateVersion differs from the base revision; changing it upgrades nothing and flips defaults.',
  'service-follows-stateversion': 'An enabled service has a default that follows stateVersion and is not pinned.',
  'service-major-upgrade': 'A pinned stateful service changes major version in a way that needs manual steps.',
  'label-invalid': 'system.nixos.label contains characters outside [a-zA-Z0-9:_.-].',
  'stateversion-raise-preview':
    'What raising stateVersion to the nixpkgs release would change, from evaluating the host twice (lint --eval).',
  'file-too-large': 'A file was not linted: it is over the size limit, or the project is over its byte budget.',
};

const SARIF_LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {
  error: 'error',
  warning: 'warning',
  information: 'note',
  hint: 'note',
};

export function formatSarif(diagnostics: readonly LintDiagnostic[], cwd: string, version: string): string {
  const codes = Object.keys(RULE_DESCRIPTIONS) as DiagnosticCode[];
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'nixos-generations',
            version,
            rules: codes.map((id) => ({
              id,
              shortDescription: { text: RULE_DESCRIPTIONS[id] },
              defaultConfiguration: { level: id === 'service-follows-stateversion' ? 'note' : 'warning' },
            })),
          },
        },
        originalUriBaseIds: { SRCROOT: { uri: pathToFileUri(cwd.endsWith(path.sep) ? cwd : cwd + path.sep) } },
        results: diagnostics.map((d) => {
          const shown = displayPath(d.file, cwd);
          const relative = !path.isAbsolute(shown);
          return {
            ruleId: d.code,
            ruleIndex: codes.indexOf(d.code),
            level: SARIF_LEVEL[d.severity],
            message: { text: d.message },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: relative
                    ? { uri: encodeURI(shown), uriBaseId: 'SRCROOT' }
                    : { uri: pathToFileUri(d.file) },
                  region: {
                    startLine: d.range.start.line + 1,
                    startColumn: d.range.start.character + 1,
                    endLine: d.range.end.line + 1,
                    endColumn: d.range.end.character + 1,
                  },
                },
              },
            ],
          };
        }),
      },
    ],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}

function pathToFileUri(p: string): string {
  return `file://${encodeURI(p.split(path.sep).join('/'))}`;
}

/**
 * The language server's protocol, shared by the client (src/extension/languageClient.ts) and the server
 * (src/server): the settings section, the initialization options, how both are parsed (once, here), and the
 * custom requests. Plain data only: neither end's LSP library is imported, so the CLI's `lsp` and the tests use it
 * as they are.
 */

import { parseMachineFacts, type MachineFacts } from './lint/machine';

export type { MachineFacts };

/** The configuration section the server reads (and the client synchronizes). */
export const SETTINGS_SECTION = 'nixosGenerations';

/** What the lint service needs from the settings. */
export interface ServerSettings {
  /** Git revision for the comparisons ('' disables). */
  base: string;
  /** Where `current-system` lives; '' to skip the activated generation. */
  runDir: string;
}

/** Background evaluation by Nix (the `nixosGenerations.evaluation` settings). */
export interface EvaluationSettings {
  enabled: boolean;
  /** The nix executable (a machine-scoped setting). */
  nix: string;
}

/** Sent by the client at every (re)start. */
export interface InitializationOptions extends ServerSettings {
  /** The workspace is trusted (VS Code's workspace trust); other editors leave it out, meaning trusted. */
  trusted: boolean;
  /** Absent: evaluation on, with `nix` from PATH. */
  evaluation?: EvaluationSettings;
  /** What the explorer knew about this machine when the server (re)started; later changes come as notifications. */
  machine?: MachineFacts;
}

/** Without any setting: compare with HEAD, no activated generation. */
export const DEFAULT_SERVER_SETTINGS: ServerSettings = { base: 'HEAD', runDir: '' };

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function text(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

/** The `nixosGenerations` section as `workspace/configuration` returns it (`{ lint: { base }, runDir }`). */
export function parseSettingsSection(section: unknown): ServerSettings {
  const s = record(section);
  return {
    base: text(record(s.lint).base, DEFAULT_SERVER_SETTINGS.base),
    runDir: text(s.runDir, DEFAULT_SERVER_SETTINGS.runDir),
  };
}

/** `initializationOptions` from any client (absent or malformed fields take their defaults; trusted unless false). */
export function parseInitializationOptions(options: unknown): InitializationOptions {
  const o = record(options);
  return {
    base: text(o.base, DEFAULT_SERVER_SETTINGS.base),
    runDir: text(o.runDir, DEFAULT_SERVER_SETTINGS.runDir),
    trusted: o.trusted !== false,
    ...(o.machine !== undefined ? { machine: parseMachineFacts(o.machine) } : {}),
  };
}

/**
 * The evaluation settings, from the settings section's or the initialization options' `evaluation` object
 * (`{ enabled, nix }`): on unless `enabled` is false; `nix` unless another executable is named.
 */
export function parseEvaluationSettings(value: unknown): EvaluationSettings {
  const o = record(value);
  const nix = text(o.nix, 'nix').trim();
  return { enabled: o.enabled !== false, nix: nix === '' ? 'nix' : nix };
}

/**
 * In an untrusted workspace no git runs in it (a repository's config can name programs git would run) and the
 * deployed-generation comparison is off.
 */
export function effectiveSettings(settings: ServerSettings, trusted: boolean): ServerSettings {
  return trusted ? settings : { base: '', runDir: '' };
}

/** A custom request: its method name, and (in the type) its parameters and result. */
export interface ProtocolRequest<Params, Result> {
  readonly method: string;
  /** Never set: carries the types. */
  readonly types?: { params: Params; result: Result };
}

export function protocolRequest<Params, Result>(method: string): ProtocolRequest<Params, Result> {
  return { method };
}

/**
 * The custom requests, by name. Add new ones here (both ends import this object):
 * `export const REQUESTS = { evaluate: protocolRequest<EvalParams, EvalResult>('nixosGenerations/evaluate') }`,
 * handled on the server with `onProtocolRequest` (src/server/connection.ts) and sent by the client with
 * `client.sendRequest(REQUESTS.evaluate.method, params)`.
 */
export const REQUESTS = {} satisfies Record<string, ProtocolRequest<unknown, unknown>>;

/** A custom notification: its method name, and (in the type) its parameters. */
export interface ProtocolNotification<Params> {
  readonly method: string;
  /** Never set: carries the type. */
  readonly types?: { params: Params };
}

export function protocolNotification<Params>(method: string): ProtocolNotification<Params> {
  return { method };
}

/**
 * The custom notifications, by name: `machineFacts` goes from the client to the server whenever the explorer learns
 * something new about this machine (see core/lint/machine); the server parses it with `parseMachineFacts`.
 */
export const NOTIFICATIONS = {
  machineFacts: protocolNotification<MachineFacts>('nixosGenerations/machineFacts'),
} satisfies Record<string, ProtocolNotification<unknown>>;

export { parseMachineFacts };

/** The server is restarted after a crash at most this often in RESTART_WINDOW_MS; then it stays down, said once. */
export const MAX_RESTARTS = 4;
export const RESTART_WINDOW_MS = 3 * 60 * 1000;

/**
 * Whether a server that just closed is restarted: yes unless it already crashed MAX_RESTARTS times in the window.
 * `crashes` holds the earlier crash times (pruned and extended in place with `now`).
 */
export function shouldRestart(crashes: number[], now: number): boolean {
  while (crashes.length > 0 && now - crashes[0]! > RESTART_WINDOW_MS) crashes.shift();
  crashes.push(now);
  return crashes.length <= MAX_RESTARTS;
}

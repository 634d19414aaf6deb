/** What one evaluation of a host says, digested from the expression's JSON (see expression.ts). */

/** A value as the expression summarises it. */
export type ValueSummary =
  | { kind: 'package'; name: string | null; pname: string | null; version: string | null }
  | { kind: 'value'; value: string | number | boolean | null }
  | { kind: 'list'; size: number; items: unknown[] }
  | { kind: 'attrs'; names: string[] }
  | { kind: 'function' };

/** A read that may have failed (the option threw, or does not exist in this configuration). */
export type ValueRead = { ok: true; value: ValueSummary } | { ok: false; missing?: boolean };

export interface Definition {
  /** The file as Nix names it (a store path for flakes). */
  file: string;
  /** The same file in the workspace, when it is one of the workspace's files. */
  workspaceFile?: string;
  /** The definition's value when it is a string (stateVersion). */
  value?: string | null;
}

export interface OptionReport {
  /** Dotted option path. */
  option: string;
  /** The option exists in this configuration's option tree. */
  declared: boolean;
  highestPrio: number | null;
  /** Defined by the user: a definition above option-default priority from outside nixpkgs' module tree. */
  userDefined: boolean;
  definitions: Definition[];
  value: ValueRead;
}

export interface HomeUserReport {
  name: string;
  stateVersion: string | undefined;
  options: { option: string; value: ValueRead }[];
}

export interface RaiseChange {
  option: string;
  /** Readable values before and after ("postgresql 15.13", "/var/lib/postgresql/15"). */
  from: string;
  to: string;
  /** The option is in the rule database (otherwise found by comparing the enabled services). */
  known: boolean;
  /** What the change means for a stateful service ("data migration needed", "not allowed in one step"). */
  note?: string;
}

export interface RaiseReport {
  target: string;
  /** False when the configuration could not be evaluated again (no extendModules, or it failed). */
  available: boolean;
  reason?: string;
  changes: RaiseChange[];
}

export interface HostEvaluation {
  flakeDir: string;
  host: string;
  /** `config.system.nixos.release`. */
  release: string | undefined;
  stateVersion: {
    value: string | undefined;
    highestPrio: number | null;
    userDefined: boolean;
    definitions: Definition[];
  };
  configurationRevision: OptionReport;
  label: OptionReport;
  /** Every option of the rule database, in the database's order. */
  options: OptionReport[];
  homeUsers: HomeUserReport[];
  /** Enabled services (names under `services`). */
  enabledServices: string[];
  /** What raising stateVersion to the target would change; undefined when stateVersion is already the target. */
  raise: RaiseReport | undefined;
}

export type EvalOutcome =
  | { status: 'ok'; evaluation: HostEvaluation; ms: number; fromCache: boolean }
  /** The flake's inputs are not in the store and the evaluation runs offline. */
  | { status: 'inputs-missing'; message: string; fetchCommand: string[]; ms: number }
  | { status: 'failed'; message: string; ms: number }
  | { status: 'cancelled'; ms: number }
  | { status: 'nix-missing'; message: string; ms: number };

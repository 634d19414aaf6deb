/**
 * Turning the expression's JSON into a {@link HostEvaluation}: store paths mapped back to workspace files,
 * "defined by the user" decided, and the two evaluations (as configured, stateVersion raised) compared.
 * Defensive throughout: the JSON comes from a configuration we do not control.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { MAJOR_UPGRADE_RULES, majorDistance } from '../lint/data/majorUpgrades';
import { NIXOS_GATES } from '../lint/gates';
import type {
  Definition,
  HomeUserReport,
  HostEvaluation,
  OptionReport,
  RaiseChange,
  RaiseReport,
  ValueRead,
  ValueSummary,
} from './types';

/** Option defaults (`mkOptionDefault`) have priority 1500 in nixpkgs' lib/modules.nix; anything lower was defined. */
const OPTION_DEFAULT_PRIORITY = 1500;

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export interface DigestContext {
  flakeDir: string;
  host: string;
  /** The git work tree holding the flake (flakes in git are copied from the top of the work tree). */
  gitTop?: string;
  /** The options asked for, in order (dotted). */
  options: readonly string[];
}

/** Where a Nix file name points in the workspace: `<store>/<hash>-<name>/rest` → `<flake or git top>/rest`. */
export function workspaceFileOf(
  file: string,
  storeDir: string,
  ctx: Pick<DigestContext, 'flakeDir' | 'gitTop'>,
): string | undefined {
  const prefix = storeDir.endsWith('/') ? storeDir : `${storeDir}/`;
  let rest: string | undefined;
  if (file.startsWith(prefix)) {
    const m = /^[0-9a-z]{32}-[^/]+\/(.+)$/.exec(file.slice(prefix.length));
    rest = m?.[1];
  } else if (path.isAbsolute(file) && (file === ctx.flakeDir || file.startsWith(ctx.flakeDir + path.sep))) {
    return existsSync(file) ? file : undefined;
  }
  if (rest === undefined) return undefined;
  rest = rest.replace(/#.*$/, '').replace(/, via option .*$/, '');
  if (rest.split('/').includes('..')) return undefined;
  for (const base of [ctx.gitTop, ctx.flakeDir]) {
    if (!base) continue;
    const candidate = path.join(base, ...rest.split('/'));
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** nixpkgs' own module tree (a definition there is a nixpkgs default, not the user's). */
function isNixpkgsModule(file: string, def: Definition): boolean {
  return def.workspaceFile === undefined && /\/nixos\/(modules|lib)\//.test(file);
}

function valueRead(v: unknown): ValueRead {
  const o = obj(v);
  if (o.ok !== true) return { ok: false, ...(o.missing === true ? { missing: true } : {}) };
  const s = obj(o.value);
  switch (s.kind) {
    case 'package':
      return {
        ok: true,
        value: {
          kind: 'package',
          name: str(s.name) ?? null,
          pname: str(s.pname) ?? null,
          version: str(s.version) ?? null,
        },
      };
    case 'value': {
      const x = s.value;
      const value = typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean' ? x : null;
      return { ok: true, value: { kind: 'value', value } };
    }
    case 'list':
      return { ok: true, value: { kind: 'list', size: num(s.size) ?? 0, items: arr(s.items).slice(0, 20) } };
    case 'attrs':
      return {
        ok: true,
        value: {
          kind: 'attrs',
          names: arr(s.names)
            .flatMap((n) => str(n) ?? [])
            .slice(0, 50),
        },
      };
    case 'function':
      return { ok: true, value: { kind: 'function' } };
    default:
      return { ok: false };
  }
}

/** A value as people read it: `postgresql 15.13`, `"/var/lib/x"`, `true`, `3 items`. */
export function showValue(read: ValueRead): string {
  if (!read.ok) return read.missing ? '(not in this configuration)' : '(fails to evaluate)';
  const v: ValueSummary = read.value;
  switch (v.kind) {
    case 'package':
      return v.pname && v.version ? `${v.pname} ${v.version}` : (v.name ?? 'a package');
    case 'value':
      return typeof v.value === 'string' ? JSON.stringify(v.value) : String(v.value);
    case 'list':
      return `[${v.items.map((i) => (typeof i === 'string' ? JSON.stringify(i) : String(i))).join(', ')}${v.size > v.items.length ? ', …' : ''}]`;
    case 'attrs':
      return `{ ${v.names.join(', ')}${v.names.length ? ' ' : ''}}`;
    case 'function':
      return 'a function';
  }
}

function definitions(files: unknown[], storeDir: string, ctx: DigestContext): Definition[] {
  return files.slice(0, 50).flatMap((f) => {
    const o = obj(f);
    const file = typeof f === 'string' ? f : str(o.file);
    if (file === undefined) return [];
    const workspaceFile = workspaceFileOf(file, storeDir, ctx);
    const value = typeof f === 'string' ? undefined : o.value === null ? null : str(o.value);
    return [{ file, ...(workspaceFile ? { workspaceFile } : {}), ...(value !== undefined ? { value } : {}) }];
  });
}

function userDefined(highestPrio: number | null, defs: readonly Definition[]): boolean {
  return highestPrio !== null && highestPrio < OPTION_DEFAULT_PRIORITY && defs.some((d) => !isNixpkgsModule(d.file, d));
}

function optionReport(v: unknown, storeDir: string, ctx: DigestContext, fallbackName: string): OptionReport {
  const o = obj(v);
  const p = arr(o.path).flatMap((x) => str(x) ?? []);
  const highestPrio = num(o.highestPrio);
  const defs = definitions(arr(o.files), storeDir, ctx);
  return {
    option: p.length ? p.join('.') : fallbackName,
    declared: o.declared === true,
    highestPrio,
    userDefined: userDefined(highestPrio, defs),
    definitions: defs,
    value: valueRead(o.value),
  };
}

interface DescribedHost {
  stateVersion: HostEvaluation['stateVersion'];
  release: string | undefined;
  configurationRevision: OptionReport;
  label: OptionReport;
  options: OptionReport[];
  homeUsers: HomeUserReport[];
  /** service name → option → value */
  services: Map<string, Map<string, ValueRead>>;
}

function describeHost(v: unknown, storeDir: string, ctx: DigestContext): DescribedHost {
  const o = obj(v);
  const sv = obj(o.stateVersion);
  const svValue = valueRead(sv.value);
  const svDefs = definitions(arr(sv.definitions), storeDir, ctx);
  const svPrio = num(sv.highestPrio);
  const release = valueRead(o.release);
  const services = new Map<string, Map<string, ValueRead>>();
  for (const [name, reads] of Object.entries(obj(o.services))) {
    const m = new Map<string, ValueRead>();
    for (const r of arr(reads)) {
      const p = arr(obj(r).path).flatMap((x) => str(x) ?? []);
      if (p.length) m.set(p.join('.'), valueRead(obj(r).value));
    }
    services.set(name, m);
  }
  return {
    stateVersion: {
      value:
        svValue.ok && svValue.value.kind === 'value' && typeof svValue.value.value === 'string'
          ? svValue.value.value
          : undefined,
      highestPrio: svPrio,
      userDefined: userDefined(svPrio, svDefs),
      definitions: svDefs,
    },
    release:
      release.ok && release.value.kind === 'value' && typeof release.value.value === 'string'
        ? release.value.value
        : undefined,
    configurationRevision: optionReport(o.configurationRevision, storeDir, ctx, 'system.configurationRevision'),
    label: optionReport(o.label, storeDir, ctx, 'system.nixos.label'),
    options: arr(o.options).map((x, i) => optionReport(x, storeDir, ctx, ctx.options[i] ?? '?')),
    homeUsers: arr(o.homeUsers).flatMap((u) => {
      const uo = obj(u);
      const name = str(uo.name);
      if (name === undefined) return [];
      const svr = valueRead(uo.stateVersion);
      return [
        {
          name,
          stateVersion:
            svr.ok && svr.value.kind === 'value' && typeof svr.value.value === 'string' ? svr.value.value : undefined,
          options: arr(uo.options).map((x) => ({
            option: arr(obj(x).path)
              .flatMap((y) => str(y) ?? [])
              .join('.'),
            value: valueRead(obj(x).value),
          })),
        },
      ];
    }),
    services,
  };
}

const sameRead = (a: ValueRead, b: ValueRead): boolean => JSON.stringify(a) === JSON.stringify(b);

/** What a package change means for a stateful service of the major-upgrade rules. */
export function packageChangeNote(option: string, from: ValueRead, to: ValueRead): string | undefined {
  if (!from.ok || !to.ok || from.value.kind !== 'package' || to.value.kind !== 'package') return undefined;
  const rule = MAJOR_UPGRADE_RULES.find((r) => r.option === option);
  const a = from.value.version;
  const b = to.value.version;
  if (!rule || !a || !b) return undefined;
  // PostgreSQL and Nextcloud count majors by the first number; MariaDB, MongoDB, NetBox and others by "x.y".
  const parts = /postgresql|nextcloud/.test(option) ? 1 : 2;
  const major = (v: string): string => v.split('.').slice(0, parts).join('.');
  const distance = majorDistance(major(a), major(b));
  if (distance === 0) return undefined;
  if (distance < 0) return `a downgrade (${major(a)} → ${major(b)}): ${rule.service} cannot go back on existing data`;
  if (rule.maxStep !== undefined && distance > rule.maxStep)
    return `not allowed in one step (${rule.service} upgrades ${rule.maxStep} major at a time)`;
  if (rule.maxStep !== undefined) return `${rule.service} upgrades itself one major at a time`;
  return 'data migration needed';
}

function compare(current: DescribedHost, raised: DescribedHost): RaiseChange[] {
  const out: RaiseChange[] = [];
  const seen = new Set<string>();
  const add = (option: string, a: ValueRead, b: ValueRead, known: boolean): void => {
    if (seen.has(option) || sameRead(a, b)) return;
    if (!a.ok && a.missing && !b.ok && b.missing) return;
    seen.add(option);
    const note = packageChangeNote(option, a, b);
    out.push({ option, from: showValue(a), to: showValue(b), known, ...(note ? { note } : {}) });
  };
  const raisedOptions = new Map(raised.options.map((o) => [o.option, o]));
  const currentOptions = new Map(current.options.map((o) => [o.option, o]));
  const isTrue = (r: ValueRead | undefined): boolean =>
    r?.ok === true && r.value.kind === 'value' && r.value.value === true;
  // A database option counts when one of its gates applies: its service is enabled before or after.
  const relevant = (option: string): boolean =>
    NIXOS_GATES.some(
      (g) =>
        (g.option === option || g.fixOption === option || g.pinnedBy.includes(option)) &&
        (g.when.kind !== 'enabled' ||
          isTrue(currentOptions.get(g.when.option)?.value) ||
          isTrue(raisedOptions.get(g.when.option)?.value)),
    );
  for (const o of current.options) {
    const r = raisedOptions.get(o.option);
    if (r && (o.declared || r.declared) && relevant(o.option)) add(o.option, o.value, r.value, true);
  }
  for (const [service, reads] of current.services) {
    const after = raised.services.get(service);
    if (!after) continue;
    for (const [option, read] of reads) {
      const b = after.get(option);
      if (b) add(option, read, b, false);
    }
  }
  for (const [service, reads] of raised.services) {
    if (current.services.has(service)) continue;
    const enable = reads.get(`services.${service}.enable`);
    if (enable) add(`services.${service}.enable`, { ok: true, value: { kind: 'value', value: false } }, enable, false);
  }
  return out.sort(
    (x, y) => Number(y.known) - Number(x.known) || (x.option < y.option ? -1 : x.option > y.option ? 1 : 0),
  );
}

/** The digested evaluation of one host; throws only on JSON that is not the expression's output at all. */
export function digestEvaluation(json: unknown, ctx: DigestContext): HostEvaluation {
  const root = obj(json);
  const storeDir = str(root.storeDir) ?? '/nix/store';
  if (!root.current) throw new Error('the evaluation returned no result');
  const current = describeHost(root.current, storeDir, ctx);
  const target = str(root.target);
  let raise: RaiseReport | undefined;
  const r = obj(root.raised);
  if (root.raised !== null && root.raised !== undefined && target !== undefined) {
    if (r.available === true) {
      raise = { target, available: true, changes: compare(current, describeHost(r.result, storeDir, ctx)) };
    } else {
      raise = {
        target,
        available: false,
        reason: str(r.reason) ?? 'the configuration could not be evaluated again',
        changes: [],
      };
    }
  }
  return {
    flakeDir: ctx.flakeDir,
    host: ctx.host,
    release: current.release,
    stateVersion: current.stateVersion,
    configurationRevision: current.configurationRevision,
    label: current.label,
    options: current.options,
    homeUsers: current.homeUsers,
    enabledServices: [...current.services.keys()].sort(),
    raise,
  };
}

/** One line per change: "services.postgresql.package postgresql 15.13 → postgresql 17.5: data migration needed". */
export function describeRaise(raise: RaiseReport): string {
  if (!raise.available) return `raising stateVersion to ${raise.target} could not be evaluated: ${raise.reason ?? ''}`;
  if (raise.changes.length === 0) return `raising stateVersion to ${raise.target} changes none of the options compared`;
  const parts = raise.changes.map((c) => `${c.option} ${c.from} → ${c.to}${c.note ? `: ${c.note}` : ''}`);
  return `raising stateVersion to ${raise.target} switches ${parts.join('; ')}`;
}

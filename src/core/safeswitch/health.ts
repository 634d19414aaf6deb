/**
 * Health checks run on the target after the new configuration is active and before the user is offered to keep
 * it: a systemd unit is active, a URL answers, a command succeeds. A failing check reverts the switch.
 */
import { runOnTarget, type Target, type TargetRunOptions } from '../target';

export type HealthCheck =
  | { kind: 'unit'; unit: string; timeoutSeconds?: number }
  | { kind: 'url'; url: string; timeoutSeconds?: number }
  | { kind: 'command'; command: string; timeoutSeconds?: number };

export interface HealthResult {
  check: HealthCheck;
  ok: boolean;
  /** What was checked, for the user ("unit nginx.service is active"). */
  title: string;
  /** Why it failed (stderr, exit code), empty when ok. */
  detail: string;
}

const URL_SCRIPT = [
  'if command -v curl >/dev/null 2>&1; then exec curl -fsS -o /dev/null --max-time "$2" -- "$1"',
  'elif command -v wget >/dev/null 2>&1; then exec wget -q -O /dev/null -T "$2" -- "$1"',
  'else echo "neither curl nor wget is installed on the target" >&2; exit 127; fi',
].join('\n');

function describeCheck(check: HealthCheck): string {
  switch (check.kind) {
    case 'unit':
      return `unit ${check.unit} is active`;
    case 'url':
      return `${check.url} answers`;
    case 'command':
      return `command succeeds: ${check.command}`;
  }
}

/** The argv that performs a check on the target (values as arguments, never in the script text). */
export function checkArgv(check: HealthCheck): string[] {
  const seconds = String(Math.max(1, Math.round(check.timeoutSeconds ?? 10)));
  switch (check.kind) {
    case 'unit':
      return ['systemctl', 'is-active', '--quiet', '--', check.unit];
    case 'url':
      return ['sh', '-c', URL_SCRIPT, 'nixgen-health-url', check.url, seconds];
    case 'command':
      return ['sh', '-c', check.command];
  }
}

/** Reads user-supplied check definitions (settings JSON); bad entries become messages, never exceptions. */
export function parseHealthChecks(value: unknown): { checks: HealthCheck[]; problems: string[] } {
  const checks: HealthCheck[] = [];
  const problems: string[] = [];
  if (value === undefined || value === null) return { checks, problems };
  if (!Array.isArray(value)) return { checks, problems: ['health checks must be a list'] };
  value.forEach((raw: unknown, i) => {
    const item = raw as Record<string, unknown> | null;
    const timeout = typeof item?.timeoutSeconds === 'number' ? { timeoutSeconds: item.timeoutSeconds } : {};
    if (typeof raw === 'string' && raw.trim() !== '') checks.push({ kind: 'command', command: raw });
    else if (item && typeof item.unit === 'string' && item.unit.trim() !== '')
      checks.push({ kind: 'unit', unit: item.unit.trim(), ...timeout });
    else if (item && typeof item.url === 'string' && /^https?:\/\//.test(item.url))
      checks.push({ kind: 'url', url: item.url, ...timeout });
    else if (item && typeof item.command === 'string' && item.command.trim() !== '')
      checks.push({ kind: 'command', command: item.command, ...timeout });
    else problems.push(`health check ${i + 1} is not {"unit"}, {"url": "http(s)://..."} or {"command"}`);
  });
  return { checks, problems };
}

/** Runs the checks one after the other and stops at the first failure. */
export async function runHealthChecks(
  target: Target,
  checks: readonly HealthCheck[],
  options: TargetRunOptions = {},
): Promise<HealthResult[]> {
  const results: HealthResult[] = [];
  for (const check of checks) {
    const title = describeCheck(check);
    const timeoutMs = (check.timeoutSeconds ?? 10) * 1000 + 15_000;
    try {
      const r = await runOnTarget(target, checkArgv(check), { ...options, timeoutMs });
      const ok = r.exitCode === 0;
      const why = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-2).join(' ');
      const detail = ok ? '' : r.timedOut ? 'timed out' : `exit ${r.exitCode ?? r.signal}${why ? `: ${why}` : ''}`;
      results.push({ check, ok, title, detail });
    } catch (error) {
      results.push({ check, ok: false, title, detail: error instanceof Error ? error.message : String(error) });
    }
    if (!results[results.length - 1]!.ok) break;
  }
  return results;
}

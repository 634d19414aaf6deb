/** Plain-text rendering of a GenerationDiff, for the terminal and the log. */
import { formatBytes } from '../format';
import type { ChangeKind, PackageChange } from './closure';
import type { GenerationDiff, SystemInfo } from './index';

const SECTIONS: ReadonlyArray<readonly [ChangeKind, string]> = [
  ['upgraded', 'Upgraded'],
  ['downgraded', 'Downgraded'],
  ['added', 'Added'],
  ['removed', 'Removed'],
  ['changed', 'Changed'],
];

const showVersions = (versions: readonly string[]): string =>
  versions.length === 0 ? '∅' : versions.map((v) => (v === '' ? 'ε' : v)).join(', ');

function signedBytes(delta: number): string {
  return `${delta > 0 ? '+' : delta < 0 ? '-' : '±'}${formatBytes(Math.abs(delta))}`;
}

function side(info: SystemInfo): string {
  const gen = info.generation !== null ? `generation ${info.generation}` : info.storePath;
  const where = info.host !== null && info.host !== undefined ? `the running system of ${info.host}: ` : '';
  return where + (info.label ? `${gen} (${info.label})` : gen);
}

function packageLine(p: PackageChange, width: number): string {
  const versions =
    p.kind === 'added'
      ? showVersions(p.after)
      : p.kind === 'removed'
        ? showVersions(p.before)
        : `${showVersions(p.before)} → ${showVersions(p.after)}`;
  const size = p.sizeDelta !== 0 ? `  ${signedBytes(p.sizeDelta)}` : '';
  return `  ${p.name.padEnd(width)}  ${versions}${size}`;
}

export function formatDiffText(diff: GenerationDiff): string {
  const out: string[] = [];
  out.push(`From: ${side(diff.from)}`);
  out.push(`To:   ${side(diff.to)}`);
  if (diff.reach && diff.reach.length > 0) {
    const cut = diff.reach.some((f) => f.cutsOff);
    out.push('', cut ? 'How the machine is reached (these changes may cut you off):' : 'How the machine is reached:');
    for (const f of diff.reach) out.push(`  ${f.cutsOff ? '[cut off]' : '[changed]'} ${f.message}`);
  }
  if (diff.risks.length > 0) {
    out.push('', 'Risky changes:');
    for (const r of diff.risks) out.push(`  [${r.severity}] ${r.message}`);
  }
  const width = Math.min(40, Math.max(8, ...diff.closure.packages.map((p) => p.name.length)));
  for (const [kind, title] of SECTIONS) {
    const list = diff.closure.packages.filter((p) => p.kind === kind);
    if (list.length === 0) continue;
    out.push('', `${title} (${list.length}):`);
    for (const p of list) out.push(packageLine(p, width));
  }
  if (diff.closure.packages.length === 0) out.push('', 'No package changes.');
  const c = diff.closure;
  out.push(
    '',
    `Closure size: ${formatBytes(c.sizeBefore)} → ${formatBytes(c.sizeAfter)} (${signedBytes(c.sizeDelta)}); ` +
      `paths: ${c.pathsBefore} → ${c.pathsAfter} (+${c.pathsAdded} -${c.pathsRemoved})`,
  );
  if (diff.kernel.changed)
    out.push(`Kernel: ${diff.kernel.before ?? '?'} → ${diff.kernel.after ?? '?'} (reboot needed)`);
  else if (diff.kernel.rebootNeeded) out.push('Kernel: same version, but initrd or modules differ (reboot needed)');
  else out.push(`Kernel: unchanged (${diff.kernel.after ?? 'unknown'})`);
  if (diff.stateVersion.before !== null || diff.stateVersion.after !== null) {
    out.push(`stateVersion: ${diff.stateVersion.before ?? 'unknown'} → ${diff.stateVersion.after ?? 'unknown'}`);
  }
  if (diff.units) {
    const u = diff.units;
    out.push('', 'Activation would:');
    const rows: Array<[string, string[]]> = [
      ['stop', u.stop],
      ['leave running (changed)', u.skip],
      ['reload', u.reload],
      ['restart', u.restart],
      ['start', u.start],
    ];
    let any = false;
    for (const [what, units] of rows) {
      if (units.length === 0) continue;
      any = true;
      out.push(`  ${what}: ${units.join(', ')}`);
    }
    if (u.restartSystemd) out.push('  restart systemd');
    else if (!any) out.push('  change no units');
  }
  for (const w of diff.warnings) out.push(`warning: ${w}`);
  return `${out.join('\n')}\n`;
}

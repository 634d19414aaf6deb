/**
 * Parses what `switch-to-configuration dry-activate` prints (both the Perl script and switch-to-configuration-ng
 * write the same lines on stderr) into lists of units. The lines of a real `switch`/`test` run are understood
 * too, so the same parser reads the log of an activation.
 */

export type UnitAction = 'stop' | 'skip' | 'reload' | 'restart' | 'start';

export interface UnitChanges {
  /** Units that would be stopped (and, for most, started again afterwards with the new definition). */
  stop: string[];
  /** Changed units left running (`stopIfChanged`/`restartIfChanged = false`): they keep their old definition. */
  skip: string[];
  reload: string[];
  restart: string[];
  start: string[];
  /** systemd itself (PID 1) would be re-executed. */
  restartSystemd: boolean;
  /** Lines that were not recognised (the activation script's own output, warnings), in order. */
  other: string[];
}

const LINES: ReadonlyArray<readonly [RegExp, UnitAction]> = [
  [/^would stop the following units:\s*(.*)$/, 'stop'],
  [/^stopping the following units:\s*(.*)$/, 'stop'],
  [/^would NOT stop the following changed units:\s*(.*)$/, 'skip'],
  [/^NOT restarting the following changed units:\s*(.*)$/, 'skip'],
  [/^would reload the following units:\s*(.*)$/, 'reload'],
  [/^reloading the following units:\s*(.*)$/, 'reload'],
  [/^would restart the following units:\s*(.*)$/, 'restart'],
  [/^restarting the following units:\s*(.*)$/, 'restart'],
  [/^would start the following units:\s*(.*)$/, 'start'],
  [/^starting the following units:\s*(.*)$/, 'start'],
  [/^the following new units were started:\s*(.*)$/, 'start'],
];

const NOISE = [/^would activate the configuration\.\.\.$/, /^would run activate script\.\.\.$/];

/** A unit name: systemd's allowed characters and a known suffix. Anything else in a list is dropped. */
const UNIT = /^[A-Za-z0-9:_.\\@-]+\.(service|socket|target|device|mount|automount|swap|timer|path|slice|scope)$/;

function emptyUnitChanges(): UnitChanges {
  return { stop: [], skip: [], reload: [], restart: [], start: [], restartSystemd: false, other: [] };
}

/** Never throws; every input gives a result (unknown lines land in `other`). */
export function parseDryActivate(output: string): UnitChanges {
  const result = emptyUnitChanges();
  const seen: Record<UnitAction, Set<string>> = {
    stop: new Set(),
    skip: new Set(),
    reload: new Set(),
    restart: new Set(),
    start: new Set(),
  };
  // eslint-disable-next-line no-control-regex
  const text = String(output ?? '').replace(/\x1b\[[0-9;]*m/g, '');
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    if (/^(would restart|restarting) systemd(\.\.\.)?$/.test(line)) {
      result.restartSystemd = true;
      continue;
    }
    if (NOISE.some((re) => re.test(line))) continue;
    let matched = false;
    for (const [re, action] of LINES) {
      const m = re.exec(line);
      if (!m) continue;
      matched = true;
      for (const name of m[1]!.split(',')) {
        const unit = name.trim();
        if (unit !== '' && UNIT.test(unit) && !seen[action].has(unit)) {
          seen[action].add(unit);
          result[action].push(unit);
        }
      }
      break;
    }
    if (!matched) result.other.push(line);
  }
  return result;
}

/** True when nothing would happen to any unit. */
export function noUnitChanges(changes: UnitChanges): boolean {
  return (
    !changes.restartSystemd &&
    changes.stop.length +
      changes.skip.length +
      changes.reload.length +
      changes.restart.length +
      changes.start.length ===
      0
  );
}

/** Small presentation helpers shared by the CLI and the explorer. */
import type { RebootStatus } from './generations/types';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 -> "1.5 KiB"; negative values keep their sign. */
export function formatBytes(bytes: number): string {
  const sign = bytes < 0 ? '-' : '';
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${sign}${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** ISO date -> "2024-06-01 12:00" in local time (what nix-env shows, to the minute). */
export function formatLocalDateTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** "3 days ago"-style age relative to `now`. */
export function formatAge(iso: string, now: Date = new Date()): string {
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return '';
  const seconds = Math.round((now.getTime() - then) / 1000);
  if (seconds < 0) return 'in the future';
  const steps: Array<[number, string]> = [
    [60, 'second'],
    [60, 'minute'],
    [24, 'hour'],
    [30, 'day'],
    [12, 'month'],
    [Number.POSITIVE_INFINITY, 'year'],
  ];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (value < size) {
      const n = Math.max(1, Math.floor(value));
      return `${n} ${unit}${n === 1 ? '' : 's'} ago`;
    }
    value /= size;
  }
  return '';
}

/** A git revision shortened for display; keeps a "-dirty" suffix. */
export function shortRevision(revision: string): string {
  const dirty = revision.endsWith('-dirty');
  const bare = dirty ? revision.slice(0, -'-dirty'.length) : revision;
  const short = /^[0-9a-f]{8,}$/i.test(bare) ? bare.slice(0, 7) : bare;
  return dirty ? `${short}-dirty` : short;
}

/** "the activated system has another kernel, initrd and kernel modules than the booted one", or null. */
export function describeReboot(status: RebootStatus): string | null {
  if (!status.needed || status.differs.length === 0) return null;
  const words: Record<RebootStatus['differs'][number], string> = {
    kernel: 'kernel',
    initrd: 'initrd',
    'kernel-modules': 'kernel modules',
  };
  const parts = status.differs.map((d) => words[d]);
  const list = parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}` : parts[0];
  return `the activated system has another ${list} than the booted one`;
}

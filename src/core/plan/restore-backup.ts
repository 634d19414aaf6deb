/**
 * Restore a backup recorded in a transition journal on the target: which backups can be picked (newest first), what
 * restoring one does in words, and the command that does it (`transition postgresql --restore --backup ID`, after
 * stopping NixOS' postgresql.service where systemd has it). The restore itself moves the current content of the
 * data directory aside (never deletes it) and counts the restored rows against the backup's inventory.
 */
import { DEFAULT_JOURNAL_DIR, type JournalBackup, type JournalData } from '../transitions/journal';
import { formatBytes } from '../transitions/plan';
import { describeRestore } from '../transitions/postgresql';
import { shellJoin } from '../exec/quote';
import type { Confirmation } from './types';

export const POSTGRES_JOURNAL = `${DEFAULT_JOURNAL_DIR}/postgresql.json`;

export interface BackupChoice {
  label: string;
  description: string;
  detail: string;
  backup: JournalBackup;
}

/** The backups of a journal as choices, newest first; the reason when there is none. */
export function backupChoices(journal: JournalData | null): { choices: BackupChoice[]; none: string | null } {
  if (!journal) return { choices: [], none: `no transition journal at ${POSTGRES_JOURNAL}: nothing was backed up` };
  const backups = [...journal.backups].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  if (backups.length === 0) return { choices: [], none: `the journal ${journal.id} records no backup` };
  return {
    none: null,
    choices: backups.map((backup, i) => ({
      label: `${i === 0 ? '$(history) ' : ''}${backup.id}`,
      description: `${backup.restores} · ${backup.kind === 'datadir' ? 'data directory copy' : 'dump'} · ${formatBytes(backup.bytes)} · ${backup.createdAt.slice(0, 16).replace('T', ' ')}`,
      detail: `into ${backup.target}`,
      backup,
    })),
  };
}

export interface RestorePlan {
  confirm: Confirmation;
  /** What runs on the target (before elevation): stop the service, then the CLI's restore. */
  argv: string[];
  /** The terminal task's name. */
  name: string;
}

const STOP_THEN_RUN =
  'if command -v systemctl >/dev/null 2>&1 && systemctl cat postgresql.service >/dev/null 2>&1; then ' +
  'systemctl stop postgresql.service || exit 1; fi; exec "$@"';

export function planRestore(input: {
  backup: JournalBackup;
  journalFile: string;
  cli: readonly string[];
  where: string;
  elevate: readonly string[];
}): RestorePlan {
  const { backup } = input;
  const argv = [
    'sh',
    '-c',
    STOP_THEN_RUN,
    'nixgen-restore',
    ...input.cli,
    'transition',
    'postgresql',
    '--restore',
    '--backup',
    backup.id,
    '--journal',
    input.journalFile,
    '--yes',
  ];
  return {
    name: `Restore ${backup.restores} on ${input.where}`,
    argv,
    confirm: {
      message: `Restore ${backup.restores} on ${input.where} from ${backup.id}?`,
      detail:
        `PostgreSQL (postgresql.service) is stopped first. Then: ${describeRestore(backup)}. The restored rows are ` +
        `counted against the inventory taken when the backup was made. Afterwards the cluster in ${backup.target} ` +
        'is used by the generation whose PostgreSQL has that data directory: start it again, or switch back to that ' +
        'generation.',
      action: 'Restore',
      command: shellJoin([...input.elevate, ...argv]),
    },
  };
}

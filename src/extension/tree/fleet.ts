import * as os from 'node:os';
import * as vscode from 'vscode';
import { openRepository } from '../../core/exec/git';
import {
  parseMachinesSetting,
  readWorkspaceFleet,
  workspaceMachines,
  type FleetMachine,
} from '../../core/fleet/machines';
import { fleetMachineKey, parseLastSeen, readFleet, updateLastSeen, type LastSeenBook } from '../../core/fleet/view';
import type { GenerationsStore, MachineKey } from '../../core/model/store';
import { sshOptsFromEnv } from '../../core/target';
import type { Config } from '../config';
import { workspaceFlakeTarget } from '../deploy/support';
import { log } from '../log';

/** The globalState key of the last-seen record (core/fleet/view's LastSeenBook). */
export const LAST_SEEN_STATE = 'nixosGenerations.fleet.lastSeen';

/**
 * What the explorer asks about the fleet: which machines the workspace has (core/fleet/machines over the flake and
 * the setting) and each one's generations, read side by side into the store (core/fleet/view), each machine as soon
 * as it answers. Last-seen times are kept in the extension's global state between sessions.
 */
export class FleetSource {
  private reading: Promise<void> | undefined;
  private again = false;
  private known = new Set<MachineKey>();

  constructor(
    private readonly config: Config,
    private readonly store: GenerationsStore,
    private readonly memory: vscode.Memento | undefined,
  ) {}

  /** The machines of the workspace, now. */
  async machines(): Promise<FleetMachine[]> {
    const { problems } = parseMachinesSetting(
      vscode.workspace.getConfiguration('nixosGenerations').get<unknown>('machines'),
    );
    for (const p of problems) log.warn(p);
    const flake = workspaceFlakeTarget(this.config.flake);
    const fleet = flake.dir ? await readWorkspaceFleet(flake.dir) : null;
    if (fleet) for (const gap of fleet.gaps) log.debug(`fleet: ${gap}`);
    return workspaceMachines({
      setting: this.config.machines,
      fleet,
      localHostName: os.hostname(),
      trusted: vscode.workspace.isTrusted,
    });
  }

  /** Reads every machine again; a call while a read runs makes it run once more after. */
  refresh(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = this.read().finally(() => {
      this.reading = undefined;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.reading;
  }

  private async read(): Promise<void> {
    const machines = await this.machines();
    const keys = new Set(machines.map(fleetMachineKey));
    // machines gone from the flake or the setting leave the view
    for (const key of this.known) if (!keys.has(key)) this.store.delete(key);
    this.known = keys;
    if (machines.length === 0) return;
    const flake = workspaceFlakeTarget(this.config.flake);
    const dir = flake.dir ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const opened = dir ? await openRepository(dir) : { repo: undefined, refused: null };
    if (opened.refused) log.warn(`fleet drift: ${opened.refused}`);
    const lastSeen = parseLastSeen(this.memory?.get<unknown>(LAST_SEEN_STATE));
    const started = Date.now();
    const results = await readFleet(
      machines,
      (key) => this.store.get(key),
      (data) => {
        this.store.set(data);
        if (data.remote?.status !== 'loading') {
          log.debug(`fleet: ${data.remote?.name} ${data.remote?.status} after ${Date.now() - started} ms`);
        }
      },
      {
        sshArgs: sshOptsFromEnv(process.env.NIX_SSHOPTS),
        lastSeen,
        ...(opened.repo ? { repo: opened.repo } : {}),
      },
    );
    const book: LastSeenBook = updateLastSeen(lastSeen, results);
    await this.memory?.update(LAST_SEEN_STATE, book);
  }
}

import * as vscode from 'vscode';
import { readSetting, readSettings, type SettingReader, type Settings } from '../core/settings';

export type { Elevation } from '../core/deploy/elevation';

const SECTION = 'nixosGenerations';

/**
 * The one typed view of the settings, parsed by core/settings. Reads fresh on every access; `snapshot()` gives
 * the plain data the planners take. Settings that name executables or hosts are machine-scoped in the manifest
 * and, in an untrusted workspace, VS Code only gives us the user's own values (restrictedConfigurations).
 */
export class Config implements Readonly<Settings> {
  private get read(): SettingReader {
    const raw = vscode.workspace.getConfiguration(SECTION);
    return (key) => raw.get<unknown>(key);
  }

  /** Every setting at once, as plain data (for the core planners). */
  snapshot(): Settings {
    return readSettings(this.read);
  }

  get transitionsHooks(): unknown {
    return readSetting(this.read, 'transitionsHooks');
  }
  get transitionsCommand(): string[] {
    return readSetting(this.read, 'transitionsCommand');
  }
  get profiles(): string[] {
    return readSetting(this.read, 'profiles');
  }
  get runDir(): string {
    return readSetting(this.read, 'runDir');
  }
  get flake(): string {
    return readSetting(this.read, 'flake');
  }
  get host(): string {
    return readSetting(this.read, 'host');
  }
  get targetHost(): string {
    return readSetting(this.read, 'targetHost');
  }
  get buildHost(): string {
    return readSetting(this.read, 'buildHost');
  }
  get elevation(): Settings['elevation'] {
    return readSetting(this.read, 'elevation');
  }
  get rebuildCommand(): string {
    return readSetting(this.read, 'rebuildCommand');
  }
  get rebuildExtraArgs(): string[] {
    return readSetting(this.read, 'rebuildExtraArgs');
  }
  get useNom(): boolean {
    return readSetting(this.read, 'useNom');
  }
  get lintBase(): string {
    return readSetting(this.read, 'lintBase');
  }
  get evaluationEnabled(): boolean {
    return readSetting(this.read, 'evaluationEnabled');
  }
  get evaluationNix(): string {
    return readSetting(this.read, 'evaluationNix');
  }
  get safeSwitchConfirmSeconds(): number {
    return readSetting(this.read, 'safeSwitchConfirmSeconds');
  }
  /** The raw `safeSwitch.healthChecks` value; core/safeswitch validates it item by item. */
  get safeSwitchHealthChecks(): unknown {
    return readSetting(this.read, 'safeSwitchHealthChecks');
  }
  /** Host name -> "user@host[:port]": the fleet's ssh targets beside what the flake says. */
  get machines(): Record<string, string> {
    return readSetting(this.read, 'machines');
  }
  get deployRsCommand(): string {
    return readSetting(this.read, 'deployRsCommand');
  }
  get colmenaCommand(): string {
    return readSetting(this.read, 'colmenaCommand');
  }
  get deployParallel(): number {
    return readSetting(this.read, 'deployParallel');
  }
  get deployKeepGoing(): boolean {
    return readSetting(this.read, 'deployKeepGoing');
  }

  /** Whether a configuration change touches one of ours. */
  static affects(event: vscode.ConfigurationChangeEvent, key?: string): boolean {
    return event.affectsConfiguration(key ? `${SECTION}.${key}` : SECTION);
  }
}

import * as vscode from 'vscode';

export type Elevation = 'sudo' | 'doas' | 'run0' | 'none';

const SECTION = 'nixosGenerations';

/**
 * The one typed view of the settings. Reads fresh on every access. Settings that name executables or
 * hosts are machine-scoped in the manifest and, in an untrusted workspace, VS Code only gives us the
 * user's own values (restrictedConfigurations).
 */
export class Config {
  private get raw(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  get profiles(): string[] {
    return this.raw.get<string[]>('profiles', []).filter((p) => typeof p === 'string' && p.trim() !== '');
  }
  get runDir(): string {
    return this.raw.get<string>('runDir', '/run') || '/run';
  }
  get flake(): string {
    return this.raw.get<string>('flake', '');
  }
  get host(): string {
    return this.raw.get<string>('host', '');
  }
  get targetHost(): string {
    return this.raw.get<string>('targetHost', '');
  }
  get buildHost(): string {
    return this.raw.get<string>('buildHost', '');
  }
  get elevation(): Elevation {
    const value = this.raw.get<string>('elevation', 'sudo');
    return value === 'doas' || value === 'run0' || value === 'none' ? value : 'sudo';
  }
  get rebuildCommand(): string {
    return this.raw.get<string>('rebuildCommand', 'nixos-rebuild') || 'nixos-rebuild';
  }
  get rebuildExtraArgs(): string[] {
    return this.raw.get<string[]>('rebuildExtraArgs', []).filter((a) => typeof a === 'string');
  }
  get useNom(): boolean {
    return this.raw.get<boolean>('useNom', false);
  }
  get lintBase(): string {
    return this.raw.get<string>('lint.base', 'HEAD') || 'HEAD';
  }
  get safeSwitchConfirmSeconds(): number {
    const value = this.raw.get<number>('safeSwitch.confirmSeconds', 30);
    return Number.isFinite(value) ? Math.min(3600, Math.max(5, value)) : 30;
  }

  /** The raw `safeSwitch.healthChecks` value; core/safeswitch validates it item by item. */
  get safeSwitchHealthChecks(): unknown {
    return this.raw.get<unknown>('safeSwitch.healthChecks', []);
  }

  /** Whether a configuration change touches one of ours. */
  static affects(event: vscode.ConfigurationChangeEvent, key?: string): boolean {
    return event.affectsConfiguration(key ? `${SECTION}.${key}` : SECTION);
  }
}

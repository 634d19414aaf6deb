import * as vscode from 'vscode';
import { shortRevision } from '../core/format';
import type { GenerationsStore } from '../core/model/store';
import { rebootReasons } from './tree/source';

/** Shows the activated generation and its commit (from the store); a click reveals it in the explorer. */
export class ActivatedStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(
    'nixosGenerations.activated',
    vscode.StatusBarAlignment.Left,
    10,
  );
  private readonly subscription: vscode.Disposable;

  constructor(private readonly store: GenerationsStore) {
    this.item.name = 'NixOS Generation';
    this.item.command = 'nixosGenerations.revealActivated';
    this.subscription = store.onDidChange(() => this.update());
    this.update();
  }

  /** The text shown, for tests. */
  get text(): string {
    return this.item.text;
  }

  update(): void {
    const activated = this.store.activated();
    if (!activated) {
      this.item.hide();
      return;
    }
    const { generation } = activated;
    const reboot = this.store.rebootStatus();
    const revision = generation.configurationRevision ? ` · ${shortRevision(generation.configurationRevision)}` : '';
    const icon = reboot?.needed ? '$(debug-restart)' : '$(history)';
    this.item.text = `${icon} NixOS ${generation.generation}${revision}`;
    const tooltip = new vscode.MarkdownString(
      `Activated generation **${generation.generation}**${generation.nixosVersion ? ` (NixOS ${generation.nixosVersion})` : ''}`,
    );
    if (generation.configurationRevision) tooltip.appendMarkdown(`\n\nCommit \`${generation.configurationRevision}\``);
    if (reboot?.needed) tooltip.appendMarkdown(`\n\n**Reboot needed**: ${rebootReasons(reboot).join('; ')}`);
    tooltip.appendMarkdown('\n\nClick to reveal it in the NixOS Generations view.');
    this.item.tooltip = tooltip;
    // what a screen reader says: the words, not the tooltip's markdown
    this.item.accessibilityInformation = {
      label: [
        `Activated NixOS generation ${generation.generation}`,
        generation.configurationRevision ? `commit ${shortRevision(generation.configurationRevision)}` : '',
        reboot?.needed ? 'reboot needed' : '',
      ]
        .filter(Boolean)
        .join(', '),
    };
    this.item.backgroundColor = reboot?.needed ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.show();
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}

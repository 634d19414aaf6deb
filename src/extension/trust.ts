import * as vscode from 'vscode';

/**
 * Deploy, switch, pin and delete commands are disabled in untrusted workspaces (the manifest's
 * `enablement` hides them); this re-checks at run time because commands can also be invoked from code.
 */
export function requireTrust(action: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window
    .showWarningMessage(`${action} is disabled in an untrusted workspace.`, 'Manage Workspace Trust')
    .then((choice) => {
      if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
    });
  return false;
}

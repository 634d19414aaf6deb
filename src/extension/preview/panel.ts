/**
 * The preview webview: one panel, reused. Strict CSP (nothing but our own script, by nonce, and our own
 * stylesheet from media/), theme colours through VS Code's CSS variables, data passed by postMessage only.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { log } from '../log';
import {
  byteTexts,
  decisionFor,
  parseFromWebview,
  STALE_DECISION_MESSAGE,
  type PreviewContent,
  type ShowMessage,
  type ToWebview,
} from './messages';

const PREVIEW_VIEW_TYPE = 'nixosGenerations.preview';

/** How a confirm-mode preview was answered. */
export type PreviewDecision = 'switch' | 'cancel' | 'superseded';

export class PreviewPanel implements vscode.Disposable {
  private static current: PreviewPanel | undefined;

  /** The open panel, if any (tests). */
  static get active(): PreviewPanel | undefined {
    return PreviewPanel.current;
  }

  private ready = false;
  private disposed = false;
  private pending: ToWebview[] = [];
  private shown: ShowMessage | undefined;
  private readonly answers = new vscode.EventEmitter<'keep' | 'revert'>();
  /** "Keep" / "Revert now" pressed in the panel during a safe switch's countdown. */
  readonly onAnswer = this.answers.event;
  private decision: ((value: PreviewDecision) => void) | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
  ) {
    panel.webview.html = this.html();
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((raw: unknown) => {
        const message = parseFromWebview(raw);
        if (!message) {
          log.warn('preview: ignored a malformed message from the webview');
          return;
        }
        if (message.type === 'ready') {
          this.ready = true;
          for (const m of this.pending.splice(0)) void this.post(m);
        } else if (message.type === 'answer') {
          this.answers.fire(message.answer);
        } else {
          const decision = decisionFor(message, this.shown?.showId);
          if (decision !== null) {
            this.settle(decision);
            return;
          }
          // an answer to a preview no longer shown (or forged): it decides nothing, and the user is told so
          log.warn('preview: ignored a decision for a preview that is not the one shown');
          void vscode.window.showWarningMessage(STALE_DECISION_MESSAGE);
        }
      }),
    );
  }

  /** Opens (or reveals) the panel and shows `content`. */
  static show(extensionUri: vscode.Uri, request: PreviewContent): PreviewPanel {
    const content: ShowMessage = {
      ...request,
      showId: randomBytes(12).toString('base64url'),
      bytes: byteTexts(request),
    };
    let current = PreviewPanel.current;
    if (!current) {
      const media = vscode.Uri.joinPath(extensionUri, 'media');
      const panel = vscode.window.createWebviewPanel(
        PREVIEW_VIEW_TYPE,
        content.title,
        { viewColumn: vscode.ViewColumn.Active, preserveFocus: false },
        { enableScripts: true, localResourceRoots: [media], retainContextWhenHidden: true },
      );
      panel.iconPath = vscode.Uri.joinPath(media, 'activitybar.svg');
      current = new PreviewPanel(panel, extensionUri);
      PreviewPanel.current = current;
    } else {
      current.panel.reveal(undefined, false);
    }
    current.panel.title = content.title;
    // the preview shown so far is answered by nobody any more: its command stops without writing into this one
    current.settle('superseded');
    current.shown = content;
    current.pending = [];
    current.send(content);
    return current;
  }

  /** Posts a message now, or once the webview is ready. */
  send(message: ToWebview): void {
    if (this.disposed) return;
    if (this.ready) void this.post(message);
    else this.pending.push(message);
  }

  /** The id of the preview shown now (undefined once the panel is closed). */
  get showId(): string | undefined {
    return this.disposed ? undefined : this.shown?.showId;
  }

  /**
   * Posts `message` only while the preview `showId` is the one shown: the command of a preview another one replaced
   * writes nothing into it (no "Cancelled", no countdown, no outcome of another switch).
   */
  sendFor(showId: string, message: ToWebview): void {
    if (this.showId === showId) this.send(message);
  }

  /** What the panel shows now (tests). */
  get content(): ShowMessage | undefined {
    return this.shown;
  }

  /**
   * Resolves when the user presses "Switch safely" or "Cancel" (or closes the panel: cancel), or with
   * "superseded" once another preview replaced this one in the panel.
   */
  waitForDecision(): Promise<PreviewDecision> {
    this.settle('cancel');
    return new Promise((resolve) => {
      this.decision = resolve;
    });
  }

  private settle(value: PreviewDecision): void {
    const resolve = this.decision;
    this.decision = undefined;
    resolve?.(value);
  }

  private post(message: ToWebview): Thenable<boolean> {
    return this.panel.webview.postMessage(message);
  }

  private html(): string {
    const webview = this.panel.webview;
    const nonce = randomBytes(18).toString('base64');
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(media, 'preview.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(media, 'preview.css'));
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `img-src ${webview.cspSource}`,
      `font-src ${webview.cspSource}`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>NixOS Generations preview</title>
</head>
<body>
<main id="app" aria-live="polite"><p class="muted">Loading the comparison…</p></main>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (PreviewPanel.current === this) PreviewPanel.current = undefined;
    this.settle('cancel');
    this.answers.dispose();
    while (this.disposables.length > 0) this.disposables.pop()?.dispose();
    this.panel.dispose();
  }
}

/** Walking and printing the syntax tree (iteratively, so deep trees never exhaust the call stack). */
import type { NodeKind, SyntaxElement, SyntaxNode, SyntaxToken } from './syntax';

/** Calls `visit` on every token under `node` in source order (trivia included). */
export function forEachToken(node: SyntaxElement, visit: (token: SyntaxToken) => void): void {
  const stack: SyntaxElement[] = [node];
  while (stack.length > 0) {
    const element = stack.pop()!;
    if (element.isToken) visit(element);
    else for (let i = element.children.length - 1; i >= 0; i--) stack.push(element.children[i]!);
  }
}

/** All tokens under `node`, in source order. */
export function tokensOf(node: SyntaxElement): SyntaxToken[] {
  const out: SyntaxToken[] = [];
  forEachToken(node, (t) => out.push(t));
  return out;
}

/** The exact source text covered by the tree (for the root: the whole parsed text, byte for byte). */
export function printTree(node: SyntaxElement): string {
  const parts: string[] = [];
  forEachToken(node, (t) => parts.push(t.text));
  return parts.join('');
}

/** The source text of an element (same as {@link printTree}). */
export function nodeText(node: SyntaxElement): string {
  return printTree(node);
}

/** Calls `visit` on every node under (and including) `node`, parents before children; return false to skip a subtree. */
export function walkNodes(node: SyntaxNode, visit: (node: SyntaxNode) => boolean | void): void {
  const stack: SyntaxNode[] = [node];
  while (stack.length > 0) {
    const current = stack.pop()!;
    if (visit(current) === false) continue;
    for (let i = current.children.length - 1; i >= 0; i--) {
      const child = current.children[i]!;
      if (!child.isToken) stack.push(child);
    }
  }
}

/** Child nodes (tokens skipped). */
export function childNodes(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (const c of node.children) if (!c.isToken) out.push(c);
  return out;
}

/** The first child node of a kind (any kind when omitted). */
export function childNode(node: SyntaxNode, kind?: NodeKind): SyntaxNode | undefined {
  for (const c of node.children) if (!c.isToken && (kind === undefined || c.kind === kind)) return c;
  return undefined;
}

/** The first child token of a kind. */
export function childToken(node: SyntaxNode, kind: SyntaxToken['kind']): SyntaxToken | undefined {
  for (const c of node.children) if (c.isToken && c.kind === kind) return c;
  return undefined;
}

/** Child tokens (trivia included). */
export function childTokens(node: SyntaxNode): SyntaxToken[] {
  const out: SyntaxToken[] = [];
  for (const c of node.children) if (c.isToken) out.push(c);
  return out;
}

/** Whether the node has a direct child token of a kind (`rec`, `or`, `++`...). */
export function hasToken(node: SyntaxNode, kind: SyntaxToken['kind']): boolean {
  return childToken(node, kind) !== undefined;
}

/** The ancestors of an element, innermost first. */
export function ancestors(element: SyntaxElement): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let p = element.parent; p; p = p.parent) out.push(p);
  return out;
}

/** The token covering `offset` (at a boundary: the one starting there), or undefined past the end. */
export function tokenAt(root: SyntaxNode, offset: number): SyntaxToken | undefined {
  let node: SyntaxNode = root;
  for (;;) {
    let next: SyntaxElement | undefined;
    const children = node.children;
    // Binary search for the last child starting at or before offset.
    let lo = 0;
    let hi = children.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (children[mid]!.start <= offset) {
        next = children[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (!next) return undefined;
    if (next.isToken) return offset < next.end || (offset === next.end && next.start === next.end) ? next : undefined;
    if (offset >= next.end && next.end > next.start) return undefined;
    node = next;
  }
}

/** The innermost node whose range contains [start, end]. */
export function nodeCovering(root: SyntaxNode, start: number, end = start): SyntaxNode {
  let node = root;
  for (;;) {
    let found: SyntaxNode | undefined;
    for (const c of node.children) {
      if (!c.isToken && c.start <= start && end <= c.end && c.end > c.start) {
        found = c;
        break;
      }
    }
    if (!found) return node;
    node = found;
  }
}

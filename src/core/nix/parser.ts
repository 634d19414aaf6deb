/**
 * The error-tolerant Nix parser: recursive descent for the constructs, an operator-precedence loop with
 * Nix's exact precedence and associativity for the operators (no recursion on operator chains), and a
 * tree builder that keeps every token, so the tree prints back to the exact source.
 *
 * Grammar facts follow Nix 2.x (`parser.y`): `expr_function` (lambdas, `assert`, `with`, `let ... in`)
 * > `expr_if` (`if`, `|>`, `<|`) > `expr_op` (operators) > `expr_app` > `expr_select` > `expr_simple`.
 * Operators, loosest first: `|>` (left) and `<|` (right, not mixable with `|>`), `->` (right), `||`, `&&`
 * (left), `==` `!=` (non-associative), `<` `<=` `>` `>=` (non-associative), `//` (right), `!` (prefix),
 * `+` `-` (left), `*` `/` (left), `++` (right), `?` (non-associative, takes an attribute path), unary `-`.
 */
import { lexTable, tokenOf, type TokenTable } from './lexer';
import {
  SyntaxNode,
  TOKEN_KINDS,
  type SyntaxElement,
  type SyntaxToken,
  type NodeKind,
  type TokenKind,
  type UnmadeTokens,
} from './syntax';

/** One syntax error: a message and the UTF-16 offsets of the text it is about (`start === end` at the end of file). */
export interface ParseError {
  message: string;
  start: number;
  end: number;
}

/** What {@link parse} returns: always a full tree (error nodes where the text is broken) and the errors found. */
export interface ParseResult {
  root: SyntaxNode;
  errors: ParseError[];
}

type Kind = TokenKind | 'EOF';

/**
 * Nesting deeper than this (counted in parser levels: about two per `(`, `[`, `{ a =` or `${`, one per `let`,
 * lambda or `if`) is reported as an error instead of risking the call stack. Nix itself accepts deeper nesting
 * (thousands of parentheses); real files stay far below this.
 */
const MAX_DEPTH = 1000;

const enum Assoc {
  Left,
  Right,
  None,
}

interface OpInfo {
  strength: number;
  assoc: Assoc;
}

// Binding strength: higher binds tighter.
const STRENGTH_NOT = 8;
const STRENGTH_NEGATE = 13;
const STRENGTH_HAS_ATTR = 12;
const PIPE_STRENGTH = 1;

const BINARY: Partial<Record<Kind, OpInfo>> = {
  PipeRight: { strength: PIPE_STRENGTH, assoc: Assoc.Left },
  PipeLeft: { strength: PIPE_STRENGTH, assoc: Assoc.Right },
  Implication: { strength: 2, assoc: Assoc.Right },
  Or: { strength: 3, assoc: Assoc.Left },
  And: { strength: 4, assoc: Assoc.Left },
  Eq: { strength: 5, assoc: Assoc.None },
  NotEq: { strength: 5, assoc: Assoc.None },
  Less: { strength: 6, assoc: Assoc.None },
  LessEq: { strength: 6, assoc: Assoc.None },
  Greater: { strength: 6, assoc: Assoc.None },
  GreaterEq: { strength: 6, assoc: Assoc.None },
  Update: { strength: 7, assoc: Assoc.Right },
  Plus: { strength: 9, assoc: Assoc.Left },
  Minus: { strength: 9, assoc: Assoc.Left },
  Star: { strength: 10, assoc: Assoc.Left },
  Slash: { strength: 10, assoc: Assoc.Left },
  Concat: { strength: 11, assoc: Assoc.Right },
  Question: { strength: STRENGTH_HAS_ATTR, assoc: Assoc.None },
};

/** Tokens at which a missing expression is reported without consuming them (they close something). */
const CLOSERS: ReadonlySet<Kind> = new Set<Kind>([
  'EOF',
  'RParen',
  'RBrack',
  'RBrace',
  'InterpolationEnd',
  'Semicolon',
  'KwIn',
  'KwThen',
  'KwElse',
  'Comma',
  'Quote',
  'IndStringClose',
]);

const TOKEN_NAMES: Partial<Record<Kind, string>> = {
  EOF: 'end of file',
  Semicolon: "';'",
  RBrace: "'}'",
  InterpolationEnd: "'}'",
  RParen: "')'",
  RBrack: "']'",
  Assign: "'='",
  Colon: "':'",
  KwIn: "'in'",
  KwThen: "'then'",
  KwElse: "'else'",
  LBrace: "'{'",
  Ident: 'an identifier',
};

interface StackOp {
  prefix: boolean;
  strength: number;
  assoc: Assoc;
  kind: Kind;
  /** Index in the current children list where this operation's node will start. */
  start: number;
}

class Parser {
  /** The lexer's tokens; a token becomes an object only when it is placed in the tree. */
  private readonly tokens: TokenTable;
  /** Indices (into `tokens`) of the significant (non-trivia) tokens. */
  private readonly sig: Int32Array;
  /** Position in `sig` of the next significant token. */
  private p = 0;
  /** The kind of the next significant token (`kind()`, kept up to date by `bump`: read on every decision). */
  private cur: Kind = 'EOF';
  /** Index in `tokens` of the next token not yet placed in the tree. */
  private emitted = 0;
  /**
   * The elements placed so far and not yet gathered into a node, innermost open node last: one flat stack
   * (entries at and above `top` are stale), so a node's children are copied out once, at their exact size.
   * A token is placed as its index in `tokens`: its node makes the token object when its children are first read.
   */
  private readonly elems: (SyntaxElement | number)[] = [];
  private top = 0;
  /** For each open node (`startNode`), where its children begin in `elems`. */
  private readonly marks: number[] = [];
  /** The operator-precedence stacks of `parseOpExpr`, shared by its nested calls (each uses the part above its base). */
  private readonly ops: StackOp[] = [];
  private readonly operands: number[] = [];
  readonly errors: ParseError[] = [];
  /** Errors not kept (beyond twice MAX_REPORTED_ERRORS). */
  errorsDropped = 0;
  private depth = 0;
  private tooDeep = false;

  /** What the nodes of this parse make their tokens from. */
  private readonly unmade: UnmadeTokens;

  constructor(
    private readonly text: string,
    tokens: TokenTable,
  ) {
    this.tokens = tokens;
    this.unmade = { table: tokens, text };
    const whitespace = TOKEN_KINDS.indexOf('Whitespace');
    const comment = TOKEN_KINDS.indexOf('Comment');
    const kinds = tokens.kinds;
    let count = 0;
    for (let i = 0; i < tokens.count; i++) {
      const k = kinds[i];
      if (k !== whitespace && k !== comment) count++;
    }
    const sig = new Int32Array(count);
    for (let i = 0, j = 0; i < tokens.count; i++) {
      const k = kinds[i];
      if (k !== whitespace && k !== comment) sig[j++] = i;
    }
    this.sig = sig;
    this.cur = this.kind(0);
  }

  // ---------------------------------------------------------------- token access

  private kind(ahead = 0): Kind {
    const i = this.p + ahead;
    return i < this.sig.length ? TOKEN_KINDS[this.tokens.kinds[this.sig[i]!]!]! : 'EOF';
  }

  /** A significant token ahead, as an object of its own (for its text and offsets; never placed in the tree). */
  private token(ahead = 0): SyntaxToken | undefined {
    const i = this.p + ahead;
    return i < this.sig.length ? tokenOf(this.tokens, this.sig[i]!, this.text) : undefined;
  }

  private nextStart(): number {
    return this.p < this.sig.length ? this.tokens.starts[this.sig[this.p]!]! : this.text.length;
  }

  private place(element: SyntaxElement | number): void {
    this.elems[this.top++] = element;
  }

  private flushTrivia(): void {
    const until = this.p < this.sig.length ? this.sig[this.p]! : this.tokens.count;
    for (let i = this.emitted; i < until; i++) this.place(i);
    this.emitted = until;
  }

  private bump(): void {
    if (this.p >= this.sig.length) return;
    this.flushTrivia();
    const index = this.sig[this.p]!;
    this.place(index);
    this.emitted = index + 1;
    this.p++;
    this.cur = this.kind(0);
  }

  // ---------------------------------------------------------------- tree building

  private startNode(): void {
    this.flushTrivia();
    this.marks.push(this.top);
  }

  private finishNode(kind: NodeKind): SyntaxNode {
    return this.wrap(this.marks.pop()!, kind);
  }

  /** `startNode(); bump(); finishNode(kind)` in one step: a node around the next token alone. */
  private leafNode(kind: NodeKind): SyntaxNode {
    if (this.p >= this.sig.length) {
      this.startNode();
      return this.finishNode(kind);
    }
    this.flushTrivia();
    const index = this.sig[this.p]!;
    const node = new SyntaxNode(kind, this.tokens.starts[index]!, this.tokens.ends[index]!, [index], this.unmade);
    this.emitted = index + 1;
    this.p++;
    this.cur = this.kind(0);
    this.place(node);
    return node;
  }

  /** The position (in `elems`) where a node starting at the next token would begin. */
  private checkpoint(): number {
    this.flushTrivia();
    return this.top;
  }

  /** Wraps everything placed since `checkpoint` into a new node, which takes its place. */
  private wrap(checkpoint: number, kind: NodeKind): SyntaxNode {
    const top = this.top;
    const children = this.elems.slice(checkpoint, top);
    let start: number;
    let end: number;
    if (top > checkpoint) {
      const first = children[0]!;
      const last = children[top - checkpoint - 1]!;
      start = typeof first === 'number' ? this.tokens.starts[first]! : first.start;
      end = typeof last === 'number' ? this.tokens.ends[last]! : last.end;
    } else {
      start = end = this.nextStart();
    }
    const node = new SyntaxNode(kind, start, end, children, this.unmade);
    for (let i = 0; i < children.length; i++) {
      const child = children[i]!;
      if (typeof child !== 'number') child.parent = node;
    }
    this.top = checkpoint;
    this.place(node);
    return node;
  }

  // ---------------------------------------------------------------- errors

  private error(message: string, start: number, end: number): void {
    // After giving up on too deep a nesting, the enclosing constructs' complaints are noise.
    if (this.tooDeep && this.errors.length > 0) return;
    // keep memory bounded on garbage input (millions of stray tokens): only so many are ever reported
    if (this.errors.length >= 2 * MAX_REPORTED_ERRORS) {
      this.errorsDropped++;
      return;
    }
    this.errors.push({ message, start, end });
  }

  private describe(k: Kind, t: SyntaxToken | undefined): string {
    if (k === 'EOF' || !t) return 'end of file';
    const text = t.text.length > 20 ? `${t.text.slice(0, 20)}…` : t.text;
    return `'${text.replace(/\n/g, '\\n')}'`;
  }

  private errorHere(expected?: string): void {
    const t = this.token();
    const k = this.cur;
    const what = `unexpected ${this.describe(k, t)}`;
    // At the end of the file, point just after the last token (as Nix does), not after trailing blank lines.
    const last = this.p > 0 ? this.tokens.ends[this.sig[this.p - 1]!]! : 0;
    const start = t ? t.start : last;
    const end = t ? t.end : last;
    this.error(expected ? `${what}, expected ${expected}` : what, start, end);
  }

  private expect(k: TokenKind): boolean {
    if (this.cur === k) {
      this.bump();
      return true;
    }
    this.errorHere(TOKEN_NAMES[k] ?? `'${k}'`);
    return false;
  }

  // ---------------------------------------------------------------- entry

  parseRoot(): SyntaxNode {
    this.parseExpr();
    if (this.cur !== 'EOF') {
      this.errorHere();
      this.startNode();
      while ((this.cur as Kind) !== 'EOF') this.bump();
      this.finishNode('Error');
    }
    // Trailing trivia.
    this.flushTrivia();
    const children = this.elems.slice(0, this.top);
    const root = new SyntaxNode('Root', 0, this.text.length, children, this.unmade);
    for (const child of children) if (typeof child !== 'number') child.parent = root;
    return root;
  }

  // ---------------------------------------------------------------- expressions

  /** `expr_function`: lambdas, `assert`, `with`, `let ... in`, `if`, and operator expressions. */
  private parseExpr(): void {
    if (this.enter()) {
      this.depth--;
      return;
    }
    switch (this.cur) {
      case 'Ident': {
        const k1 = this.kind(1);
        if (k1 === 'Colon') {
          const cp = this.checkpoint();
          this.parseIdent();
          this.bump();
          this.parseExpr();
          this.wrap(cp, 'Lambda');
        } else if (k1 === 'At') {
          const cp = this.checkpoint();
          this.parsePattern();
          this.expect('Colon');
          this.parseExpr();
          this.wrap(cp, 'Lambda');
        } else this.parseOpExpr();
        break;
      }
      case 'LBrace':
        if (this.isPatternAhead()) {
          const cp = this.checkpoint();
          this.parsePattern();
          this.expect('Colon');
          this.parseExpr();
          this.wrap(cp, 'Lambda');
        } else this.parseOpExpr();
        break;
      case 'KwAssert':
      case 'KwWith': {
        const kind: NodeKind = this.cur === 'KwAssert' ? 'Assert' : 'With';
        this.startNode();
        this.bump();
        this.parseExpr();
        this.expect('Semicolon');
        this.parseExpr();
        this.finishNode(kind);
        break;
      }
      case 'KwLet':
        if (this.kind(1) === 'LBrace') this.parseOpExpr();
        else {
          this.startNode();
          this.bump();
          this.parseBindings('KwIn', true);
          this.expect('KwIn');
          this.parseExpr();
          this.finishNode('LetIn');
        }
        break;
      case 'KwIf':
        this.startNode();
        this.bump();
        this.parseExpr();
        this.expect('KwThen');
        this.parseExpr();
        this.expect('KwElse');
        this.parseExpr();
        this.finishNode('IfElse');
        break;
      default:
        this.parseOpExpr();
    }
    this.depth--;
  }

  /** Increments the depth; when too deep, reports it once, swallows the rest of the input and returns true. */
  private enter(): boolean {
    this.depth++;
    if (this.depth <= MAX_DEPTH && !this.tooDeep) return false;
    if (!this.tooDeep) {
      this.tooDeep = true;
      const start = this.nextStart();
      this.error('expression nested too deeply', start, this.text.length);
    }
    this.startNode();
    while (this.cur !== 'EOF') this.bump();
    this.finishNode('Error');
    return true;
  }

  /** At `{`: is this a lambda's formals (`{ a, b ? 1, ... }:`) rather than an attribute set? */
  private isPatternAhead(): boolean {
    const k1 = this.kind(1);
    if (k1 === 'Ellipsis') return true;
    if (k1 === 'RBrace') {
      const k2 = this.kind(2);
      return k2 === 'Colon' || k2 === 'At';
    }
    if (k1 === 'Ident') {
      const k2 = this.kind(2);
      if (k2 === 'Comma' || k2 === 'Question') return true;
      if (k2 === 'RBrace') {
        const k3 = this.kind(3);
        return k3 === 'Colon' || k3 === 'At';
      }
    }
    return false;
  }

  /** `{ a, b ? d, ... }`, with `name @` before or `@ name` after. */
  private parsePattern(): void {
    this.startNode();
    const names: SyntaxToken[] = [];
    let bindName: SyntaxToken | undefined;
    if (this.cur === 'Ident') {
      this.startNode();
      bindName = this.token();
      this.parseIdent();
      this.bump(); // '@'
      this.finishNode('PatBind');
    }
    this.expect('LBrace');
    let ellipsis = false;
    for (;;) {
      const k = this.cur;
      if (k === 'RBrace' || k === 'EOF') break;
      if (k === 'Ellipsis' && !ellipsis) {
        ellipsis = true;
        this.bump();
        if (this.cur !== 'RBrace') {
          this.errorHere("'}'");
          if (this.cur === 'Comma') this.bump();
        }
        continue;
      }
      if (k === 'Ident') {
        if (ellipsis) this.errorHere("'}'");
        this.startNode();
        names.push(this.token()!);
        this.parseIdent();
        if (this.cur === 'Question') {
          this.bump();
          this.parseExpr();
        }
        this.finishNode('PatEntry');
        const next = this.cur;
        if (next === 'Comma') this.bump();
        else if (next !== 'RBrace') {
          this.errorHere("',' or '}'");
          if (next !== 'Ident' && next !== 'Ellipsis') {
            if (CLOSERS.has(next) || next === 'Colon' || next === 'At') break;
            this.leafNode('Error');
          }
        }
        continue;
      }
      if (CLOSERS.has(k) && k !== 'Comma') break;
      this.errorHere();
      this.leafNode('Error');
    }
    this.expect('RBrace');
    if (this.cur === 'At') {
      if (bindName) this.errorHere("':'");
      this.startNode();
      this.bump();
      if ((this.cur as Kind) === 'Ident') {
        bindName = this.token();
        this.parseIdent();
      } else this.errorHere('an identifier');
      this.finishNode('PatBind');
    }
    this.finishNode('Pattern');
    // Duplicate formals (Nix reports these while parsing).
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name.text)) {
        this.error(`duplicate formal function argument '${name.text}'`, name.start, name.end);
      }
      seen.add(name.text);
    }
    if (bindName && seen.has(bindName.text)) {
      this.error(`duplicate formal function argument '${bindName.text}'`, bindName.start, bindName.end);
    }
  }

  /** `expr_op`: operators over applications, by precedence climbing with explicit stacks. */
  private parseOpExpr(): void {
    const ops = this.ops;
    const operands = this.operands;
    // This call's part of the shared stacks (a nested call leaves them as it found them).
    const opsBase = ops.length;
    const operandsBase = operands.length;

    for (;;) {
      // Prefix operators.
      for (;;) {
        const k = this.cur;
        if (k !== 'Not' && k !== 'Minus') break;
        const cp = this.checkpoint();
        ops.push({
          prefix: true,
          strength: k === 'Not' ? STRENGTH_NOT : STRENGTH_NEGATE,
          assoc: Assoc.Right,
          kind: k,
          start: cp,
        });
        this.bump();
      }
      operands.push(this.checkpoint());
      this.parseApp();

      // Binary operators (and `?`, which takes an attribute path, not an operand).
      let more = false;
      for (;;) {
        const k = this.cur;
        const info = BINARY[k];
        if (!info) break;
        const s = info.strength;
        while (ops.length > opsBase) {
          const top = ops[ops.length - 1]!;
          if (top.prefix) {
            if (top.strength > s) {
              this.reduce();
              continue;
            }
            break;
          }
          if (top.strength > s) {
            this.reduce();
            continue;
          }
          if (top.strength === s) {
            if (info.assoc === Assoc.None || (top.kind !== k && s === PIPE_STRENGTH)) {
              this.errorHere();
              this.reduce();
              continue;
            }
            if (info.assoc === Assoc.Left) {
              this.reduce();
              continue;
            }
          }
          break;
        }
        if (k === 'Question') {
          // `?` takes an attribute path, so `a ? b ? c` has no conflict in Nix's grammar: ((a ? b) ? c).
          this.bump();
          this.parseAttrpath();
          this.wrap(operands[operands.length - 1]!, 'HasAttr');
          continue;
        }
        ops.push({ prefix: false, strength: s, assoc: info.assoc, kind: k, start: operands[operands.length - 1]! });
        this.bump();
        more = true;
        break;
      }
      if (!more) break;
    }
    while (ops.length > opsBase) this.reduce();
    operands.length = operandsBase;
  }

  /** Applies the operator on top of the `parseOpExpr` stack to its operand(s). */
  private reduce(): void {
    const op = this.ops.pop()!;
    const operands = this.operands;
    operands.pop();
    if (op.prefix) {
      this.wrap(op.start, 'UnaryOp');
      operands.push(op.start);
    } else {
      this.wrap(op.start, 'BinOp');
    }
  }

  /** `expr_app`: a select expression applied to further select expressions. */
  private parseApp(): void {
    const cp = this.checkpoint();
    const k = this.cur;
    if (
      k === 'KwIf' ||
      k === 'KwWith' ||
      k === 'KwAssert' ||
      (k === 'KwLet' && this.kind(1) !== 'LBrace') ||
      (k === 'Ident' && (this.kind(1) === 'Colon' || this.kind(1) === 'At')) ||
      (k === 'LBrace' && this.isPatternAhead())
    ) {
      // Nix does not allow these as operands without parentheses; parse them anyway for a useful tree.
      this.errorHere();
      this.parseExpr();
      return;
    }
    this.parseSelect();
    while (this.startsSimple(this.cur)) {
      this.parseSelect();
      this.wrap(cp, 'Apply');
    }
  }

  private startsSimple(k: Kind): boolean {
    switch (k) {
      case 'Ident':
      case 'Integer':
      case 'Float':
      case 'Uri':
      case 'Path':
      case 'SearchPath':
      case 'Quote':
      case 'IndStringOpen':
      case 'LParen':
      case 'LBrack':
      case 'LBrace':
      case 'KwRec':
        return true;
      case 'KwLet':
        return this.kind(1) === 'LBrace';
      default:
        return false;
    }
  }

  /** `expr_select`: `e.a.b`, `e.a.b or default`, and the legacy `e or` (an application of `e` to `or`). */
  private parseSelect(): void {
    const cp = this.checkpoint();
    this.parseSimple();
    const k = this.cur;
    if (k === 'Dot') {
      this.bump();
      this.parseAttrpath();
      if (this.cur === 'KwOr') {
        this.bump();
        if (this.enter()) {
          this.depth--;
        } else {
          this.parseSelect();
          this.depth--;
        }
      }
      this.wrap(cp, 'Select');
    } else if (k === 'KwOr') {
      this.leafNode('Ident');
      this.wrap(cp, 'Apply');
    }
  }

  /** `expr_simple`. */
  private parseSimple(): void {
    if (this.enter()) {
      this.depth--;
      return;
    }
    const k = this.cur;
    switch (k) {
      case 'Ident':
        this.parseIdent();
        break;
      case 'Integer':
      case 'Float':
      case 'Uri':
        this.leafNode('Literal');
        break;
      case 'Quote':
      case 'IndStringOpen':
        this.parseString();
        break;
      case 'Path':
        this.parsePath();
        break;
      case 'SearchPath':
        this.leafNode('Path');
        break;
      case 'LParen':
        this.startNode();
        this.bump();
        this.parseExpr();
        this.expect('RParen');
        this.finishNode('Paren');
        break;
      case 'LBrack':
        this.parseList();
        break;
      case 'LBrace':
        this.startNode();
        this.bump();
        this.parseBindings('RBrace', false);
        this.expect('RBrace');
        this.finishNode('AttrSet');
        break;
      case 'KwRec':
        this.startNode();
        this.bump();
        if (this.expect('LBrace')) {
          this.parseBindings('RBrace', false);
          this.expect('RBrace');
        }
        this.finishNode('AttrSet');
        break;
      case 'KwLet':
        // Only reached for the legacy `let { ... }`.
        this.startNode();
        this.bump();
        this.expect('LBrace');
        this.parseBindings('RBrace', false);
        this.expect('RBrace');
        this.finishNode('LegacyLet');
        break;
      case 'DollarCurly':
        // `${e}` is only valid in strings, paths and attribute names.
        this.errorHere();
        this.parseInterpolation();
        break;
      default:
        this.errorHere();
        this.startNode();
        if (!CLOSERS.has(k)) this.bump();
        this.finishNode('Error');
    }
    this.depth--;
  }

  private parseIdent(): void {
    this.leafNode('Ident');
  }

  private parseString(): void {
    const open = this.token()!;
    const ind = open.kind === 'IndStringOpen';
    const close: Kind = ind ? 'IndStringClose' : 'Quote';
    this.startNode();
    this.bump();
    for (;;) {
      const k = this.cur;
      if (k === 'StringContent') this.bump();
      else if (k === 'DollarCurly') this.parseInterpolation();
      else if (k === close) {
        this.bump();
        break;
      } else {
        this.error(ind ? 'unterminated indented string' : 'unterminated string', open.start, this.nextStart());
        break;
      }
    }
    this.finishNode('String');
  }

  private parsePath(): void {
    this.startNode();
    let end = this.token()!.end;
    this.bump();
    let interpolated = false;
    for (;;) {
      const t = this.token();
      if (!t || t.start !== end) break;
      if (t.kind === 'PathContent') {
        // Nix's grammar wants a `${` right after a first continuation (`a/b//c` is PATH STR: an error).
        const next = this.token(1);
        if (!interpolated && !(next && next.kind === 'DollarCurly' && next.start === t.end)) {
          this.error(`unexpected '${t.text}' in a path, expected '\${'`, t.start, t.end);
        }
        this.bump();
        end = t.end;
      } else if (t.kind === 'DollarCurly') {
        interpolated = true;
        const node = this.parseInterpolation();
        end = node.end;
      } else break;
    }
    this.finishNode('Path');
  }

  /** `${ expr }` */
  private parseInterpolation(): SyntaxNode {
    this.startNode();
    this.bump();
    this.parseExpr();
    if (this.cur === 'InterpolationEnd') this.bump();
    else {
      this.errorHere("'}'");
      if (this.cur !== 'EOF') {
        this.startNode();
        let depth = 0;
        for (;;) {
          const k = this.cur as Kind;
          if (k === 'EOF') break;
          if (k === 'InterpolationEnd') {
            if (depth === 0) break;
            depth--;
          } else if (k === 'DollarCurly') depth++;
          this.bump();
        }
        this.finishNode('Error');
        if ((this.cur as Kind) === 'InterpolationEnd') this.bump();
      }
    }
    return this.finishNode('Interpolation');
  }

  private parseList(): void {
    this.startNode();
    this.bump();
    for (;;) {
      const k = this.cur;
      if (k === 'RBrack') {
        this.bump();
        break;
      }
      if (this.startsSimple(k)) {
        this.parseSelect();
        continue;
      }
      if (CLOSERS.has(k)) {
        this.errorHere("']'");
        break;
      }
      this.errorHere();
      this.leafNode('Error');
    }
    this.finishNode('List');
  }

  // ---------------------------------------------------------------- bindings

  /** Bindings of a set or a `let`, up to (not including) `closer`. */
  private parseBindings(closer: 'RBrace' | 'KwIn', isLet: boolean): void {
    for (;;) {
      const k = this.cur;
      if (k === closer || k === 'EOF') break;
      if (k === 'KwInherit') {
        this.parseInherit();
        continue;
      }
      if (k === 'Ident' || k === 'KwOr' || k === 'Quote' || k === 'DollarCurly') {
        this.parseBinding(isLet);
        continue;
      }
      // A stray `)` or `]` cannot close bindings: it is skipped with the rest of the broken binding.
      if (k === 'RBrace' || k === 'KwIn' || k === 'InterpolationEnd') break;
      this.errorHere();
      this.skipToSemicolon();
    }
  }

  /** Error recovery in bindings: everything up to and including the next `;` at this nesting level. */
  private skipToSemicolon(): void {
    this.startNode();
    let depth = 0;
    for (;;) {
      const k = this.cur;
      if (k === 'EOF') break;
      if (depth === 0) {
        if (k === 'RBrace' || k === 'KwIn' || k === 'InterpolationEnd') break;
        if (k === 'Semicolon') {
          this.bump();
          break;
        }
      }
      if (k === 'LBrace' || k === 'LParen' || k === 'LBrack' || k === 'DollarCurly') depth++;
      else if ((k === 'RBrace' || k === 'RParen' || k === 'RBrack' || k === 'InterpolationEnd') && depth > 0) depth--;
      this.bump();
    }
    this.finishNode('Error');
  }

  private parseBinding(isLet: boolean): void {
    this.startNode();
    const path = this.parseAttrpath();
    if (isLet) {
      const first = path.children.find((c): c is SyntaxNode => !c.isToken);
      if (first && !isStaticName(first)) {
        this.error('dynamic attributes not allowed in let', first.start, first.end);
      }
    }
    if (this.cur === 'Assign') {
      this.bump();
      this.parseExpr();
    } else {
      this.errorHere("'='");
      const k = this.cur;
      if (!CLOSERS.has(k) && k !== 'KwInherit') this.parseExpr();
    }
    this.expect('Semicolon');
    this.finishNode('Binding');
  }

  private parseInherit(): void {
    this.startNode();
    this.bump();
    if (this.cur === 'LParen') {
      this.startNode();
      this.bump();
      this.parseExpr();
      this.expect('RParen');
      this.finishNode('InheritFrom');
    }
    for (;;) {
      const k = this.cur;
      if (k === 'Ident' || k === 'KwOr' || k === 'Quote' || k === 'DollarCurly') {
        const name = this.parseAttrName();
        if (!isStaticName(name)) this.error('dynamic attributes not allowed in inherit', name.start, name.end);
        continue;
      }
      break;
    }
    this.expect('Semicolon');
    this.finishNode('Inherit');
  }

  private parseAttrpath(): SyntaxNode {
    this.startNode();
    this.parseAttrName();
    while (this.cur === 'Dot') {
      this.bump();
      this.parseAttrName();
    }
    return this.finishNode('Attrpath');
  }

  private parseAttrName(): SyntaxNode {
    switch (this.cur) {
      case 'Ident':
      case 'KwOr':
        return this.leafNode('Ident');
      case 'Quote':
      case 'IndStringOpen':
        if (this.cur === 'IndStringOpen') this.errorHere('an attribute name');
        this.parseString();
        return this.elems[this.top - 1] as SyntaxNode;
      case 'DollarCurly':
        return this.parseInterpolation();
      default:
        this.errorHere('an attribute name');
        this.startNode();
        return this.finishNode('Error');
    }
  }
}

/** Is this attribute name static (`a`, `"a"`, `${"a"}`), as Nix decides while parsing? */
function isStaticName(name: SyntaxNode): boolean {
  if (name.kind === 'Ident' || name.kind === 'Error') return true;
  if (name.kind === 'String') return !name.children.some((c) => !c.isToken && c.kind === 'Interpolation');
  if (name.kind === 'Interpolation') {
    let inner = name.children.find((c): c is SyntaxNode => !c.isToken);
    while (inner && inner.kind === 'Paren') inner = inner.children.find((c): c is SyntaxNode => !c.isToken);
    return !!inner && inner.kind === 'String' && !inner.children.some((c) => !c.isToken && c.kind === 'Interpolation');
  }
  return false;
}

/**
 * Parses Nix source text. Never throws: broken input gives `Error` nodes in the tree and entries in `errors`
 * (sorted by offset, at most one per offset), and the tree still prints back to `text` exactly.
 */
/** At most this many syntax errors are reported per file (then one line says how many more there were). */
export const MAX_REPORTED_ERRORS = 1000;

/**
 * The largest text the `parse` command reads (UTF-16 units): with its tokens left unmade (`parse` only reads the
 * errors) the tree takes about 70 bytes per byte of source and ~45 for garbage (one token per character); made,
 * about 100 and ~150, so 8 Mi keeps even a walk over the whole tree under 1.5 GB.
 */
export const PARSE_MAX_CHARS = 8 * 1024 * 1024;

export function parse(text: string): ParseResult {
  const lexed = lexTable(text);
  let root: SyntaxNode;
  let parserErrors: ParseError[];
  let parserDropped = 0;
  try {
    const parser = new Parser(text, lexed.table);
    root = parser.parseRoot();
    parserErrors = parser.errors;
    parserDropped = parser.errorsDropped;
  } catch (error) {
    // Last resort (e.g. the call stack ran out): a flat tree, still lossless.
    const children: SyntaxElement[] = [];
    for (let i = 0; i < lexed.table.count; i++) children.push(tokenOf(lexed.table, i, text));
    const errorNode = new SyntaxNode('Error', 0, text.length, children);
    for (const child of children) child.parent = errorNode;
    root = new SyntaxNode('Root', 0, text.length, [errorNode]);
    errorNode.parent = root;
    parserErrors = [
      { message: `cannot parse: ${error instanceof Error ? error.message : String(error)}`, start: 0, end: 0 },
    ];
  }
  const all: ParseError[] = [...lexed.errors, ...parserErrors];
  all.sort((a, b) => a.start - b.start);
  const errors: ParseError[] = [];
  let dropped = parserDropped;
  for (const e of all) {
    const last = errors[errors.length - 1];
    if (last && last.start === e.start) continue;
    if (errors.length < MAX_REPORTED_ERRORS) errors.push(e);
    else dropped++;
  }
  if (dropped > 0) {
    const at = errors[errors.length - 1]!.end;
    errors.push({ message: `too many errors: ${dropped} more not reported`, start: at, end: at });
  }
  return { root, errors };
}

/**
 * A small program that goes through the parser's and the lexer's less common paths (paths with `${`, floats,
 * URIs, indented-string escapes, patterns, `inherit (e)`, `or`, every operator...). It is parsed once when this
 * module loads, so that every branch has type feedback before the JIT optimises the hot functions: otherwise
 * the first real file with, say, an interpolated path makes the optimised lexer bail out (no feedback for that
 * branch), and the lexer runs unoptimised for hundreds of files until it is optimised again. Pure: parsing it
 * has no effect but on V8's feedback (costs well under a millisecond).
 */
const PRIMER_ROUNDS = 8;
export const FEEDBACK_PRIMER = `# comment
/* block */ { config, lib ? null, pkgs, ... }@args: x: y:
let
  inherit (lib) mkIf mkOption;
  inherit "q" r;
  inherit (lib.x) y z;
  k = [ ({ }: 1) ({ a }: a) ({ a }@b: a) (b@{ a, ... }: a) ];
  a = rec { b.c = 1; "d" = 2.5; \${"e"} = .5e3; f = 1.e5; };
  p = [ ./a/b ../c /abs ~/home ~/a/b a/b/c/d a/\${x}/y ./p\${y} <nixpkgs> <nixpkgs/lib> https://example.org/a?b=c x:y ];
  s = "a\\n\\"\${b}\\$\${c} $ $x$\\\\" + ''\x20\x20
    x ''$ ''' ''\\n \${y} $ ' $x 'y
  '';
  t = if !a.b or false && -1 < 2 || 3 <= 4 -> 5 > 6 && 7 >= 8 then a == b else a != b;
  u = a // b ++ c * d / e - f + g ? h.i + "b$";
  v = with a; assert b; f a.b or c (x: x) { } [ ] (let { body = 1; });
  w = x |> f;
  w2 = g <| y;
in
{ inherit a; \${t}.u = v; x = y or z; }
`;
// A few times: V8 only starts collecting feedback for a function after it has run a little (lazy feedback
// allocation), so the first rounds mostly get the rarely called helpers past that point.
for (let round = 0; round < PRIMER_ROUNDS; round++) parse(FEEDBACK_PRIMER);

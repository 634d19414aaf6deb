/**
 * The lossless concrete syntax tree of a Nix file.
 *
 * Every character of the source belongs to exactly one {@link SyntaxToken}, whitespace and comments included
 * ("trivia"), so concatenating the tokens in order gives back the source text exactly ({@link printTree}).
 * Tokens are grouped into {@link SyntaxNode}s; a node's range runs from its first token to its last one.
 * Trivia between two tokens of a node belongs to that node; trivia before a node's first token belongs to an
 * ancestor, so node ranges never start or end with whitespace (except the root, which covers everything).
 *
 * Offsets are UTF-16 code unit offsets into the parsed string (what JavaScript string indices and LSP use).
 */

/** Token kinds. Trivia: `Whitespace`, `Comment`. Keywords are spelled with a `Kw` prefix. */
export type TokenKind =
  | 'Whitespace'
  | 'Comment'
  | 'Ident'
  | 'Integer'
  | 'Float'
  | 'Uri'
  /** The first segment of a path: `./a/b`, `/etc`, `~/x`, or `a/` before `${`. */
  | 'Path'
  /** A later segment of an interpolated path, after a `${...}`. */
  | 'PathContent'
  /** `<nixpkgs>` and `<nixpkgs/lib>`. */
  | 'SearchPath'
  /** `"` opening or closing a string. */
  | 'Quote'
  /** `''` opening an indented string (with the spaces and the newline directly after it, as Nix lexes it). */
  | 'IndStringOpen'
  | 'IndStringClose'
  /** Literal text of a string, escapes included raw (see `constantValue` for the decoded value). */
  | 'StringContent'
  /** `${` (in a string, a path, an attribute name, or anywhere). */
  | 'DollarCurly'
  /** The `}` that closes a `${`. */
  | 'InterpolationEnd'
  | 'KwIf'
  | 'KwThen'
  | 'KwElse'
  | 'KwAssert'
  | 'KwWith'
  | 'KwLet'
  | 'KwIn'
  | 'KwRec'
  | 'KwInherit'
  | 'KwOr'
  | 'Ellipsis'
  | 'LBrace'
  | 'RBrace'
  | 'LBrack'
  | 'RBrack'
  | 'LParen'
  | 'RParen'
  | 'Semicolon'
  | 'Colon'
  | 'Comma'
  | 'Dot'
  | 'Assign'
  | 'At'
  | 'Question'
  | 'Plus'
  | 'Minus'
  | 'Star'
  | 'Slash'
  /** `++` */
  | 'Concat'
  /** `//` */
  | 'Update'
  | 'Eq'
  | 'NotEq'
  | 'Less'
  | 'LessEq'
  | 'Greater'
  | 'GreaterEq'
  | 'And'
  | 'Or'
  /** `->` */
  | 'Implication'
  /** `!` */
  | 'Not'
  /** `|>` */
  | 'PipeRight'
  /** `<|` */
  | 'PipeLeft'
  /** A character Nix does not accept here (reported as an error). */
  | 'Error';

/**
 * Every token kind, numbered: the lexer stores a token's kind as its index here (one byte), and the parser makes
 * a {@link SyntaxToken} only when it places the token in the tree. A record, so the compiler checks that every
 * kind has a number.
 */
const TOKEN_KIND_CODES: Record<TokenKind, number> = {
  Whitespace: 0,
  Comment: 1,
  Ident: 2,
  Integer: 3,
  Float: 4,
  Uri: 5,
  Path: 6,
  PathContent: 7,
  SearchPath: 8,
  Quote: 9,
  IndStringOpen: 10,
  IndStringClose: 11,
  StringContent: 12,
  DollarCurly: 13,
  InterpolationEnd: 14,
  KwIf: 15,
  KwThen: 16,
  KwElse: 17,
  KwAssert: 18,
  KwWith: 19,
  KwLet: 20,
  KwIn: 21,
  KwRec: 22,
  KwInherit: 23,
  KwOr: 24,
  Ellipsis: 25,
  LBrace: 26,
  RBrace: 27,
  LBrack: 28,
  RBrack: 29,
  LParen: 30,
  RParen: 31,
  Semicolon: 32,
  Colon: 33,
  Comma: 34,
  Dot: 35,
  Assign: 36,
  At: 37,
  Question: 38,
  Plus: 39,
  Minus: 40,
  Star: 41,
  Slash: 42,
  Concat: 43,
  Update: 44,
  Eq: 45,
  NotEq: 46,
  Less: 47,
  LessEq: 48,
  Greater: 49,
  GreaterEq: 50,
  And: 51,
  Or: 52,
  Implication: 53,
  Not: 54,
  PipeRight: 55,
  PipeLeft: 56,
  Error: 57,
};
/** The kind numbered `code` (the inverse of {@link tokenKindCode}). */
export const TOKEN_KINDS: readonly TokenKind[] = (Object.keys(TOKEN_KIND_CODES) as TokenKind[]).sort(
  (a, b) => TOKEN_KIND_CODES[a] - TOKEN_KIND_CODES[b],
);
/** The number of a token kind (below 256: it fits a byte). */
export function tokenKindCode(kind: TokenKind): number {
  return TOKEN_KIND_CODES[kind];
}

/**
 * Node kinds. Children are listed in source order and include the tokens (keywords, punctuation, trivia).
 * - `Root`: the whole file; one expression (plus trivia, and `Error` nodes for anything left over).
 * - `Literal`: an `Integer`, `Float` or `Uri` token.
 * - `Ident`: a variable or attribute name (one `Ident` token, or `KwOr` where Nix allows `or` as a name).
 * - `String`: `"..."` or `''...''`; content tokens and `Interpolation` nodes between the delimiters.
 * - `Path`: a path or `<search/path>`; `Path`/`PathContent`/`SearchPath` tokens and `Interpolation` nodes.
 * - `Interpolation`: `${ expr }`, in strings, paths and attribute names.
 * - `Paren`: `( expr )`. `List`: `[ elements ]`.
 * - `AttrSet`: `{ bindings }`, `rec { bindings }`. `LegacyLet`: `let { bindings }`.
 * - `Binding`: `Attrpath = expr ;`. `Attrpath`: names (`Ident`, `String`, `Interpolation`) separated by `.`.
 * - `Inherit`: `inherit [InheritFrom] names ;`; `InheritFrom`: `( expr )`.
 * - `LetIn`: `let bindings in expr`. `With`: `with e; body`. `Assert`: `assert e; body`.
 * - `IfElse`: `if c then a else b`.
 * - `Lambda`: parameter (`Ident` or `Pattern`), `:`, body. `Pattern`: `{ PatEntry, ... }` with an optional
 *   `PatBind` (`@ name`, before or after the braces). `PatEntry`: `name` or `name ? default`.
 * - `Apply`: function then argument. `Select`: `expr . Attrpath [or default]`. `HasAttr`: `expr ? Attrpath`.
 * - `BinOp`: left, operator token, right (every binary operator, `|>` and `<|` included).
 * - `UnaryOp`: `!` or `-` then the operand.
 * - `Error`: what could not be parsed (possibly empty, where an expression is missing).
 */
export type NodeKind =
  | 'Root'
  | 'Error'
  | 'Literal'
  | 'Ident'
  | 'String'
  | 'Path'
  | 'Interpolation'
  | 'Paren'
  | 'List'
  | 'AttrSet'
  | 'LegacyLet'
  | 'Binding'
  | 'Attrpath'
  | 'Inherit'
  | 'InheritFrom'
  | 'LetIn'
  | 'With'
  | 'Assert'
  | 'IfElse'
  | 'Lambda'
  | 'Pattern'
  | 'PatEntry'
  | 'PatBind'
  | 'Apply'
  | 'Select'
  | 'HasAttr'
  | 'BinOp'
  | 'UnaryOp';

export type SyntaxElement = SyntaxNode | SyntaxToken;

/**
 * A leaf of the tree: one token of the source, trivia included.
 *
 * Tokens and nodes are plain classes whose fields are all assigned in the constructor, in one order, and never
 * added later (no class-field initialisers, which V8 runs as a separate step): every instance has the same
 * shape, which keeps property accesses monomorphic and the first (not yet optimised) parse fast.
 */
export class SyntaxToken {
  /** Always true (on the prototype): tells tokens from nodes. */
  declare readonly isToken: true;
  declare readonly kind: TokenKind;
  /** Offset of the first character. */
  declare readonly start: number;
  /** Offset just past the last character. */
  declare readonly end: number;
  /** The whole parsed text (the token's text is cut from it on demand). */
  declare private readonly source: string;
  /** The enclosing node (set for every token once parsing is done). */
  declare parent: SyntaxNode | undefined;
  constructor(kind: TokenKind, start: number, end: number, source: string) {
    this.kind = kind;
    this.start = start;
    this.end = end;
    this.source = source;
    this.parent = undefined;
  }

  /** The exact source text of the token. */
  get text(): string {
    return this.source.slice(this.start, this.end);
  }
}

/**
 * Where the tokens a parser left unmade come from: the lexer's table (token `i` is of kind
 * `TOKEN_KINDS[kinds[i]]` over `[starts[i], ends[i])`) and the parsed text. One per parse, shared by its nodes.
 */
export interface UnmadeTokens {
  readonly table: { readonly kinds: Uint8Array; readonly starts: Int32Array; readonly ends: Int32Array };
  readonly text: string;
}

/**
 * An inner node of the tree.
 *
 * The parser gives a node its tokens as numbers (indices into the lexer's table) and the node makes the token
 * objects the first time its `children` are read: a file that is only checked for errors (`parse` on the command
 * line) never makes its millions of token objects, and a walk over part of a tree makes only that part's.
 */
export class SyntaxNode {
  /** Always false (on the prototype): tells nodes from tokens. */
  declare readonly isToken: false;
  declare readonly kind: NodeKind;
  /** Offset of the first character of the first token (or where the node would be, when it is empty). */
  declare start: number;
  /** Offset just past the last token. */
  declare end: number;
  /** The children; a number is a token not made yet (its index in `unmade`'s table). */
  declare private elements: (SyntaxElement | number)[];
  /** Where the tokens still numbers in `elements` come from; undefined once they are all made. */
  declare private unmade: UnmadeTokens | undefined;
  /** The enclosing node; undefined for the root. */
  declare parent: SyntaxNode | undefined;
  /** `children` may hold numbers (tokens of `unmade`'s table) only when `unmade` is given. */
  constructor(kind: NodeKind, start: number, end: number, children: (SyntaxElement | number)[], unmade?: UnmadeTokens) {
    this.kind = kind;
    this.start = start;
    this.end = end;
    this.elements = children;
    this.unmade = unmade;
    this.parent = undefined;
  }

  /** Child nodes and tokens in source order (the same token objects on every read). */
  get children(): SyntaxElement[] {
    if (this.unmade !== undefined) this.makeTokens(this.unmade);
    return this.elements as SyntaxElement[];
  }

  private makeTokens(unmade: UnmadeTokens): void {
    const { table, text } = unmade;
    const elements = this.elements;
    for (let i = 0; i < elements.length; i++) {
      const e = elements[i]!;
      if (typeof e !== 'number') continue;
      const token = new SyntaxToken(TOKEN_KINDS[table.kinds[e]!]!, table.starts[e]!, table.ends[e]!, text);
      token.parent = this;
      elements[i] = token;
    }
    this.unmade = undefined;
  }
}

Object.defineProperty(SyntaxToken.prototype, 'isToken', { value: true });
Object.defineProperty(SyntaxNode.prototype, 'isToken', { value: false });

/** True for trivia tokens (whitespace and comments). */
export function isTrivia(element: SyntaxElement): boolean {
  return element.isToken && (element.kind === 'Whitespace' || element.kind === 'Comment');
}

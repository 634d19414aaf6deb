/**
 * The Nix lexer: turns source text into tokens, trivia included, with Nix's own lexical rules (the flex
 * rules of Nix 2.x: longest match, first rule on ties) and its state stack for strings, indented strings,
 * interpolations and interpolated paths. Works on char codes, never throws, always advances.
 */
import { SyntaxToken, TOKEN_KINDS, tokenKindCode, type TokenKind } from './syntax';

/** A lexical error (unterminated comment, path with a trailing slash, integer out of range...). */
export interface LexError {
  message: string;
  start: number;
  end: number;
}

export interface LexResult {
  tokens: SyntaxToken[];
  errors: LexError[];
}

/**
 * The tokens of a text, stored compactly (9 bytes a token instead of an object each): token `i` is of kind
 * `TOKEN_KINDS[kinds[i]]` and covers `[starts[i], ends[i])`; `count` tokens, in source order, with no gap.
 */
export interface TokenTable {
  count: number;
  kinds: Uint8Array;
  starts: Int32Array;
  ends: Int32Array;
}

/** What {@link lexTable} returns: the tokens as a table (the parser makes token objects only as it places them). */
export interface TableLexResult {
  table: TokenTable;
  errors: LexError[];
}

// Lexer states (Nix's flex start conditions).
const DEFAULT = 0;
const STRING = 1;
const IND_STRING = 2;
const INPATH = 3;
const INPATH_SLASH = 4;
/** A DEFAULT state pushed by `${` (its `}` is an `InterpolationEnd`). */
const INTERP = 5;

const C_TAB = 9;
const C_LF = 10;
const C_CR = 13;
const C_SPACE = 32;
const C_BANG = 33;
const C_QUOTE = 34;
const C_HASH = 35;
const C_DOLLAR = 36;
const C_AMP = 38;
const C_APOS = 39;
const C_LPAREN = 40;
const C_RPAREN = 41;
const C_STAR = 42;
const C_PLUS = 43;
const C_COMMA = 44;
const C_MINUS = 45;
const C_DOT = 46;
const C_SLASH = 47;
const C_0 = 48;
const C_1 = 49;
const C_9 = 57;
const C_COLON = 58;
const C_SEMI = 59;
const C_LT = 60;
const C_EQ = 61;
const C_GT = 62;
const C_QUESTION = 63;
const C_AT = 64;
const C_UPPER_E = 69;
const C_LBRACK = 91;
const C_BACKSLASH = 92;
const C_RBRACK = 93;
const C_LOWER_E = 101;
const C_LBRACE = 123;
const C_PIPE = 124;
const C_RBRACE = 125;
const C_TILDE = 126;

// Character classes of the ASCII characters, one bit each, so the hot loops test a character with one table
// load instead of a chain of comparisons and calls (which matters most before the JIT has optimised them).
const CL_DIGIT = 1;
const CL_ALPHA = 2;
/** `[a-zA-Z_]` */
const CL_ID_START = 4;
/** `[a-zA-Z0-9_'-]` */
const CL_ID_CHAR = 8;
/** PATH_CHAR `[a-zA-Z0-9._+-]` */
const CL_PATH_CHAR = 16;
/** URI scheme characters after the first letter: `[a-zA-Z0-9+.-]` */
const CL_SCHEME_CHAR = 32;
/** URI body characters `[a-zA-Z0-9%/?:@&=+$,_.!~*'-]` */
const CL_URI_CHAR = 64;
const CLASSES = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  const digit = c >= C_0 && c <= C_9;
  const alpha = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  let bits = 0;
  if (digit) bits |= CL_DIGIT;
  if (alpha) bits |= CL_ALPHA;
  if (alpha || ch === '_') bits |= CL_ID_START;
  if (alpha || digit || "_'-".includes(ch)) bits |= CL_ID_CHAR;
  if (alpha || digit || '._+-'.includes(ch)) bits |= CL_PATH_CHAR;
  if (alpha || digit || '+.-'.includes(ch)) bits |= CL_SCHEME_CHAR;
  if (alpha || digit || "%/?:@&=+$,_.!~*'-".includes(ch)) bits |= CL_URI_CHAR;
  CLASSES[c] = bits;
}
/** Is `c` (a char code, or -1 past the end) in the class? */
function inClass(c: number, cls: number): boolean {
  return (c & ~127) === 0 && (CLASSES[c]! & cls) !== 0;
}
function isDigit(c: number): boolean {
  return inClass(c, CL_DIGIT);
}
function isAlpha(c: number): boolean {
  return inClass(c, CL_ALPHA);
}
function isIdStart(c: number): boolean {
  return inClass(c, CL_ID_START);
}
function isPathChar(c: number): boolean {
  return inClass(c, CL_PATH_CHAR);
}

// Runs of characters with no special meaning in a comment, a string and an indented string. Long runs are
// skipped with these (sticky, `lastIndex` gives the end) rather than a character loop: the regular expression
// engine runs them as native code from the start, before the JIT has optimised the lexer.
const PLAIN_COMMENT = /[^\n\r]*/y;
const PLAIN_STRING = /[^"\\$]+/y;
const PLAIN_IND_STRING = /[^'$]+/y;

/** The end of the run of `plain` (a sticky regular expression) at `from` in `text`. */
function skipRun(plain: RegExp, text: string, from: number): number {
  plain.lastIndex = from;
  return plain.test(text) ? plain.lastIndex : from;
}

/** Does `text` hold `word` at `start` (the caller has checked the length)? */
function wordAt(text: string, start: number, word: string): boolean {
  for (let i = 1; i < word.length; i++) if (text.charCodeAt(start + i) !== word.charCodeAt(i)) return false;
  return true;
}

/**
 * The keyword spelled by `text[start, end)`, or 'Ident' (without cutting a string out of the source for
 * every identifier).
 */
function keywordOrIdent(text: string, start: number, end: number): TokenKind {
  const len = end - start;
  if (len < 2 || len > 7) return 'Ident';
  switch (text.charCodeAt(start)) {
    case 97: // a
      return len === 6 && wordAt(text, start, 'assert') ? 'KwAssert' : 'Ident';
    case 101: // e
      return len === 4 && wordAt(text, start, 'else') ? 'KwElse' : 'Ident';
    case 105: // i
      if (len === 2) {
        const c = text.charCodeAt(start + 1);
        return c === 102 ? 'KwIf' : c === 110 ? 'KwIn' : 'Ident';
      }
      return len === 7 && wordAt(text, start, 'inherit') ? 'KwInherit' : 'Ident';
    case 108: // l
      return len === 3 && wordAt(text, start, 'let') ? 'KwLet' : 'Ident';
    case 111: // o
      return len === 2 && text.charCodeAt(start + 1) === 114 ? 'KwOr' : 'Ident';
    case 114: // r
      return len === 3 && wordAt(text, start, 'rec') ? 'KwRec' : 'Ident';
    case 116: // t
      return len === 4 && wordAt(text, start, 'then') ? 'KwThen' : 'Ident';
    case 119: // w
      return len === 4 && wordAt(text, start, 'with') ? 'KwWith' : 'Ident';
    default:
      return 'Ident';
  }
}

const INT64_MAX = '9223372036854775807';

// The lexer's state while `lex` runs. The helpers below are module-level functions, not closures made per
// call: closures created anew for every file would give the JIT a different call target each time (its
// optimised code for one file's closures is thrown away at the next file), which slows the first files down.
let text = '';
let n = 0;
let kinds = new Uint8Array(0);
let starts = new Int32Array(0);
let ends = new Int32Array(0);
let count = 0;
let errors: LexError[] = [];
/** The state stack; the bottom DEFAULT is Nix's INITIAL (never popped). */
let stack: number[] = [DEFAULT];
let pos = 0;

const code = (i: number): number => (i < n ? text.charCodeAt(i) : -1);
const push = (kind: TokenKind, start: number, end: number): void => {
  if (count === kinds.length) grow();
  kinds[count] = tokenKindCode(kind);
  starts[count] = start;
  ends[count] = end;
  count++;
};
/** Doubles the table (a token is at least one character long, so it never needs more than one entry a character). */
const grow = (): void => {
  const capacity = Math.min(Math.max(n, 16), Math.max(16, kinds.length * 2));
  const k = new Uint8Array(capacity);
  k.set(kinds);
  kinds = k;
  const s = new Int32Array(capacity);
  s.set(starts);
  starts = s;
  const e = new Int32Array(capacity);
  e.set(ends);
  ends = e;
};
/** Lexer errors kept per file (garbage input can have one per byte); the parser reports at most 1,000 anyway. */
const MAX_LEX_ERRORS = 2000;
const error = (message: string, start: number, end: number): void => {
  if (errors.length < MAX_LEX_ERRORS) errors.push({ message, start, end });
};
const top = (): number => stack[stack.length - 1]!;
const pop = (): void => {
  if (stack.length > 1) stack.pop();
};

// --- length of the longest match of each DEFAULT rule starting at p (0 = no match) ---
const matchId = (p: number): number => {
  if (!isIdStart(code(p))) return 0;
  let i = p + 1;
  for (; i < n; i++) {
    const ch = text.charCodeAt(i);
    if (ch > 127 || (CLASSES[ch]! & CL_ID_CHAR) === 0) break;
  }
  return i - p;
};
const matchInt = (p: number): number => {
  let i = p;
  for (; i < n; i++) {
    const ch = text.charCodeAt(i);
    if (ch > 127 || (CLASSES[ch]! & CL_DIGIT) === 0) break;
  }
  return i - p;
};
const matchExponent = (p: number): number => {
  const c = code(p);
  if (c !== C_LOWER_E && c !== C_UPPER_E) return 0;
  let i = p + 1;
  const s = code(i);
  if (s === C_PLUS || s === C_MINUS) i++;
  const digits = matchInt(i);
  return digits > 0 ? i + digits - p : 0;
};
/** FLOAT `(([1-9][0-9]*\.[0-9]*)|(0?\.[0-9]+))([Ee][+-]?[0-9]+)?` */
const matchFloat = (p: number): number => {
  const c = code(p);
  let i: number;
  if (c >= C_1 && c <= C_9) {
    i = p + 1 + matchInt(p + 1);
    if (code(i) !== C_DOT) return 0;
    i = i + 1 + matchInt(i + 1);
  } else {
    i = p;
    if (c === C_0) i++;
    if (code(i) !== C_DOT) return 0;
    const digits = matchInt(i + 1);
    if (digits === 0) return 0;
    i = i + 1 + digits;
  }
  return i + matchExponent(i) - p;
};
// The last run of path characters scanned, [runLo, runHi): every position inside it has the same run end,
// so a long run (`-----`, `.....`) is scanned once, not once per position (which would be quadratic).
let runLo = -1;
let runHi = -1;
const skipPathChars = (i: number): number => {
  if (i >= runLo && i < runHi) return runHi;
  let j = i;
  for (; j < n; j++) {
    const ch = text.charCodeAt(j);
    if (ch > 127 || (CLASSES[ch]! & CL_PATH_CHAR) === 0) break;
  }
  if (j > i) {
    runLo = i;
    runHi = j;
  }
  return j;
};
/** `(\/{PATH_CHAR}+)+\/?` from i; returns the end, or -1 when there is no segment. */
const matchSegments = (i: number): number => {
  let segments = 0;
  while (code(i) === C_SLASH && isPathChar(code(i + 1))) {
    i = skipPathChars(i + 1);
    segments++;
  }
  if (segments === 0) return -1;
  if (code(i) === C_SLASH) i++;
  return i;
};
/** PATH `{PATH_CHAR}*(\/{PATH_CHAR}+)+\/?` */
const matchPath = (p: number): number => {
  const end = matchSegments(skipPathChars(p));
  return end < 0 ? 0 : end - p;
};
/** `{PATH_SEG}\$\{` where PATH_SEG is `{PATH_CHAR}*\/`: returns the length of PATH_SEG (0 = none). */
const matchPathSegInterp = (p: number): number => {
  const i = skipPathChars(p);
  if (code(i) === C_SLASH && code(i + 1) === C_DOLLAR && code(i + 2) === C_LBRACE) return i + 1 - p;
  return 0;
};
/** HPATH `\~(\/{PATH_CHAR}+)+\/?` */
const matchHomePath = (p: number): number => {
  if (code(p) !== C_TILDE) return 0;
  const end = matchSegments(p + 1);
  return end < 0 ? 0 : end - p;
};
/** SPATH `\<{PATH_CHAR}+(\/{PATH_CHAR}+)*\>` */
const matchSearchPath = (p: number): number => {
  if (code(p) !== C_LT) return 0;
  let i = skipPathChars(p + 1);
  if (i === p + 1) return 0;
  while (code(i) === C_SLASH && isPathChar(code(i + 1))) i = skipPathChars(i + 1);
  return code(i) === C_GT ? i + 1 - p : 0;
};
/** URI `[a-zA-Z][a-zA-Z0-9\+\-\.]*\:[uri chars]+` */
let schemeLo = -1;
let schemeHi = -1;
const matchUri = (p: number): number => {
  if (!isAlpha(code(p))) return 0;
  let i = p + 1;
  if (i >= schemeLo && i < schemeHi) i = schemeHi;
  else {
    const from = i;
    for (; i < n; i++) {
      const ch = text.charCodeAt(i);
      if (ch > 127 || (CLASSES[ch]! & CL_SCHEME_CHAR) === 0) break;
    }
    if (i > from) {
      schemeLo = from;
      schemeHi = i;
    }
  }
  if (code(i) !== C_COLON) return 0;
  const bodyStart = ++i;
  for (; i < n; i++) {
    const ch = text.charCodeAt(i);
    if (ch > 127 || (CLASSES[ch]! & CL_URI_CHAR) === 0) break;
  }
  return i > bodyStart ? i - p : 0;
};

const checkInteger = (start: number, end: number): void => {
  let i = start;
  while (i < end - 1 && text.charCodeAt(i) === C_0) i++;
  const digits = text.slice(i, end);
  if (digits.length > INT64_MAX.length || (digits.length === INT64_MAX.length && digits > INT64_MAX)) {
    error(`invalid integer '${text.slice(start, end)}'`, start, end);
  }
};
const checkFloat = (start: number, end: number): void => {
  const source = text.slice(start, end);
  const value = Number(source.endsWith('.') ? source.slice(0, -1) : source);
  // strtod sets ERANGE on overflow and on underflow (results below the smallest normal double).
  const mantissa = source.replace(/[eE].*$/, '');
  const nonZero = /[1-9]/.test(mantissa);
  if (!Number.isFinite(value) || (nonZero && Math.abs(value) < 2.2250738585072014e-308)) {
    error(`invalid float '${source}'`, start, end);
  }
};

// The longest match so far in lexDefault.
let best = 0;
let kind: TokenKind = 'Error';
let afterState = -1;
const consider = (len: number, k: TokenKind, state = -1): void => {
  if (len > best) {
    best = len;
    kind = k;
    afterState = state;
  }
};

/** Lexes one token in a DEFAULT-like state. */
const lexDefault = (): void => {
  const start = pos;
  const c = text.charCodeAt(pos);

  // Whitespace and comments.
  if (c === C_SPACE || c === C_TAB || c === C_LF || c === C_CR) {
    let i = pos + 1;
    for (; i < n; i++) {
      const d = text.charCodeAt(i);
      if (d !== C_SPACE && d !== C_TAB && d !== C_LF && d !== C_CR) break;
    }
    push('Whitespace', start, i);
    pos = i;
    return;
  }
  if (c === C_HASH) {
    const i = skipRun(PLAIN_COMMENT, text, pos + 1);
    push('Comment', start, i);
    pos = i;
    return;
  }
  if (c === C_SLASH && code(pos + 1) === C_STAR) {
    const close = text.indexOf('*/', pos + 2);
    const end = close < 0 ? n : close + 2;
    if (close < 0) error('unterminated comment', start, end);
    push('Comment', start, end);
    pos = end;
    return;
  }

  // Fast paths: punctuation that starts no longer token, identifiers and integers that cannot be the
  // start of a path or a URI.
  switch (c) {
    case C_LBRACE:
      stack.push(DEFAULT);
      push('LBrace', start, start + 1);
      pos++;
      return;
    case C_RBRACE:
      push(top() === INTERP ? 'InterpolationEnd' : 'RBrace', start, start + 1);
      pop();
      pos++;
      return;
    case C_SEMI:
      push('Semicolon', start, start + 1);
      pos++;
      return;
    case C_QUOTE:
      stack.push(STRING);
      push('Quote', start, start + 1);
      pos++;
      return;
    case C_LBRACK:
      push('LBrack', start, start + 1);
      pos++;
      return;
    case C_RBRACK:
      push('RBrack', start, start + 1);
      pos++;
      return;
    case C_LPAREN:
      push('LParen', start, start + 1);
      pos++;
      return;
    case C_RPAREN:
      push('RParen', start, start + 1);
      pos++;
      return;
    case C_COMMA:
      push('Comma', start, start + 1);
      pos++;
      return;
    case C_COLON:
      push('Colon', start, start + 1);
      pos++;
      return;
    case C_AT:
      push('At', start, start + 1);
      pos++;
      return;
    case C_EQ: {
      // No longer token starts with `=` but `==`.
      const eq = code(pos + 1) === C_EQ;
      push(eq ? 'Eq' : 'Assign', start, eq ? start + 2 : start + 1);
      pos += eq ? 2 : 1;
      return;
    }
    case C_DOT: {
      // `lib.mkIf`: a `.` is a `Dot` unless it starts `...`, a float (`.5`) or a path (a `/` after the run
      // of path characters, which `.` starts).
      const d = code(pos + 1);
      if (d !== C_DOT && !isDigit(d)) {
        const j = skipPathChars(pos);
        if (j >= n || text.charCodeAt(j) !== C_SLASH) {
          push('Dot', start, start + 1);
          pos++;
          return;
        }
      }
      break;
    }
    default:
      break;
  }
  if (isIdStart(c)) {
    let i = pos + 1;
    for (; i < n; i++) {
      const ch = text.charCodeAt(i);
      if (ch > 127 || (CLASSES[ch]! & CL_ID_CHAR) === 0) break;
    }
    const d = i < n ? text.charCodeAt(i) : -1;
    // A path needs a `/` after path characters, a URI a `:` after scheme characters; `.` and `+` are
    // path/scheme characters that identifiers lack.
    let plain = d !== C_SLASH && d !== C_COLON && d !== C_DOT && d !== C_PLUS;
    if (!plain) {
      // `lib.mkIf`: a path needs a `/` right after the run of path characters, a URI a `:` there
      // (scheme characters are path characters, and a `_` ends the scheme with something that is not `:`).
      const j = skipPathChars(pos);
      const e = j < n ? text.charCodeAt(j) : -1;
      plain = e !== C_SLASH && e !== C_COLON;
    }
    if (plain) {
      push(keywordOrIdent(text, pos, i), start, i);
      pos = i;
      return;
    }
  } else if (isDigit(c)) {
    let i = pos + 1;
    for (; i < n; i++) {
      const ch = text.charCodeAt(i);
      if (ch > 127 || (CLASSES[ch]! & CL_DIGIT) === 0) break;
    }
    const d = i < n ? text.charCodeAt(i) : -1;
    if (d !== C_SLASH && !isPathChar(d)) {
      checkInteger(start, i);
      push('Integer', start, i);
      pos = i;
      return;
    }
  }

  // Longest match among identifiers/keywords, numbers, paths and URIs.
  best = 0;
  kind = 'Error';
  afterState = -1;
  if (isIdStart(c)) {
    const len = matchId(pos);
    consider(len, keywordOrIdent(text, pos, pos + len));
  }
  if (isDigit(c)) consider(matchInt(pos), 'Integer');
  if (isDigit(c) || c === C_DOT) consider(matchFloat(pos), 'Float');
  if (isPathChar(c) || c === C_SLASH) {
    const seg = matchPathSegInterp(pos);
    // `{PATH_SEG}\$\{` matches the segment plus `${`; flex compares that full length.
    if (seg > 0) consider(seg + 2, 'Path', INPATH_SLASH);
    const len = matchPath(pos);
    if (len > 0) consider(len, 'Path', text.charCodeAt(pos + len - 1) === C_SLASH ? INPATH_SLASH : INPATH);
  }
  if (c === C_TILDE) {
    if (code(pos + 1) === C_SLASH && code(pos + 2) === C_DOLLAR && code(pos + 3) === C_LBRACE) {
      consider(4, 'Path', INPATH_SLASH);
    }
    const len = matchHomePath(pos);
    if (len > 0) consider(len, 'Path', text.charCodeAt(pos + len - 1) === C_SLASH ? INPATH_SLASH : INPATH);
  }
  if (c === C_LT) consider(matchSearchPath(pos), 'SearchPath');
  if (isAlpha(c)) consider(matchUri(pos), 'Uri');

  // Operators and punctuation (longer ones first; they only tie with the rules above on no input).
  const c1 = code(pos + 1);
  let op: TokenKind | undefined;
  let opLen = 1;
  switch (c) {
    case C_DOT:
      if (c1 === C_DOT && code(pos + 2) === C_DOT) {
        op = 'Ellipsis';
        opLen = 3;
      } else op = 'Dot';
      break;
    case C_EQ:
      if (c1 === C_EQ) {
        op = 'Eq';
        opLen = 2;
      } else op = 'Assign';
      break;
    case C_BANG:
      if (c1 === C_EQ) {
        op = 'NotEq';
        opLen = 2;
      } else op = 'Not';
      break;
    case C_LT:
      if (c1 === C_EQ) {
        op = 'LessEq';
        opLen = 2;
      } else if (c1 === C_PIPE) {
        op = 'PipeLeft';
        opLen = 2;
      } else op = 'Less';
      break;
    case C_GT:
      if (c1 === C_EQ) {
        op = 'GreaterEq';
        opLen = 2;
      } else op = 'Greater';
      break;
    case C_AMP:
      if (c1 === C_AMP) {
        op = 'And';
        opLen = 2;
      }
      break;
    case C_PIPE:
      if (c1 === C_PIPE) {
        op = 'Or';
        opLen = 2;
      } else if (c1 === C_GT) {
        op = 'PipeRight';
        opLen = 2;
      }
      break;
    case C_MINUS:
      if (c1 === C_GT) {
        op = 'Implication';
        opLen = 2;
      } else op = 'Minus';
      break;
    case C_SLASH:
      if (c1 === C_SLASH) {
        op = 'Update';
        opLen = 2;
      } else op = 'Slash';
      break;
    case C_PLUS:
      if (c1 === C_PLUS) {
        op = 'Concat';
        opLen = 2;
      } else op = 'Plus';
      break;
    case C_STAR:
      op = 'Star';
      break;
    case C_QUESTION:
      op = 'Question';
      break;
    case C_AT:
      op = 'At';
      break;
    case C_COLON:
      op = 'Colon';
      break;
    case C_SEMI:
      op = 'Semicolon';
      break;
    case C_COMMA:
      op = 'Comma';
      break;
    case C_LPAREN:
      op = 'LParen';
      break;
    case C_RPAREN:
      op = 'RParen';
      break;
    case C_LBRACK:
      op = 'LBrack';
      break;
    case C_RBRACK:
      op = 'RBrack';
      break;
    case C_DOLLAR:
      if (c1 === C_LBRACE) {
        op = 'DollarCurly';
        opLen = 2;
      }
      break;
    case C_LBRACE:
      op = 'LBrace';
      break;
    case C_RBRACE:
      op = 'RBrace';
      break;
    case C_QUOTE:
      op = 'Quote';
      break;
    case C_APOS:
      if (c1 === C_APOS) {
        op = 'IndStringOpen';
        // `''(\ *\n)?`
        let i = pos + 2;
        while (code(i) === C_SPACE) i++;
        opLen = code(i) === C_LF ? i + 1 - pos : 2;
      }
      break;
    default:
      break;
  }
  // Flex: the operator rules come before ID/INT/PATH/..., so on a tie the operator wins; a longer
  // path/number/identifier match wins otherwise (e.g. `//` vs the path `//a`? PATH needs a char after `/`).
  if (op !== undefined && opLen >= best) {
    best = opLen;
    kind = op;
    afterState = -1;
  }
  if (best === 0) {
    // Any other character: one code point, an error token.
    const len = c >= 0xd800 && c <= 0xdbff && pos + 1 < n ? 2 : 1;
    push('Error', start, start + len);
    const ch = text.slice(start, start + len);
    // Control characters (a NUL, a form feed...) are shown by code point, not raw.
    const shown = c < 32 || c === 127 ? `U+${c.toString(16).toUpperCase().padStart(4, '0')}` : `'${ch}'`;
    error(`unexpected character ${shown}`, start, start + len);
    pos = start + len;
    return;
  }

  if (afterState >= 0 && kind === 'Path') {
    // A path from `{PATH_SEG}\$\{`: only the segment is the token.
    const segLen = c === C_TILDE ? 2 : matchPathSegInterp(pos);
    const pathLen = c === C_TILDE ? matchHomePath(pos) : matchPath(pos);
    // Which rule won: if the interp rule's full match (seg + 2) is the best, the token is the segment.
    const tokenLen = segLen > 0 && best === segLen + 2 && best > pathLen ? segLen : best;
    push('Path', start, start + tokenLen);
    pos = start + tokenLen;
    stack.push(afterState === INPATH_SLASH || text.charCodeAt(pos - 1) === C_SLASH ? INPATH_SLASH : INPATH);
    return;
  }

  const end = start + best;
  switch (kind) {
    case 'Integer':
      checkInteger(start, end);
      break;
    case 'Float':
      checkFloat(start, end);
      break;
    case 'DollarCurly':
      stack.push(INTERP);
      break;
    case 'LBrace':
      stack.push(DEFAULT);
      break;
    case 'RBrace':
      if (top() === INTERP) kind = 'InterpolationEnd';
      pop();
      break;
    case 'Quote':
      stack.push(STRING);
      break;
    case 'IndStringOpen':
      stack.push(IND_STRING);
      break;
    default:
      break;
  }
  push(kind, start, end);
  pos = end;
};

/** Inside `"..."`. */
const lexString = (): void => {
  const start = pos;
  const c = text.charCodeAt(pos);
  if (c === C_QUOTE) {
    pop();
    push('Quote', start, pos + 1);
    pos++;
    return;
  }
  if (c === C_DOLLAR && code(pos + 1) === C_LBRACE) {
    stack.push(INTERP);
    push('DollarCurly', start, pos + 2);
    pos += 2;
    return;
  }
  let i = pos;
  while (i < n) {
    const d = text.charCodeAt(i);
    if (d !== C_QUOTE && d !== C_BACKSLASH && d !== C_DOLLAR) {
      i = skipRun(PLAIN_STRING, text, i);
      continue;
    }
    if (d === C_QUOTE) break;
    if (d === C_BACKSLASH) {
      i = Math.min(n, i + 2);
      continue;
    }
    if (d === C_DOLLAR) {
      const e = code(i + 1);
      if (e === C_LBRACE) break;
      if (e === C_QUOTE || e < 0) {
        i++;
        break;
      }
      if (e === C_BACKSLASH) {
        i = Math.min(n, i + 3);
        continue;
      }
      i += 2;
      continue;
    }
    i++;
  }
  push('StringContent', start, i);
  pos = i;
};

/** Inside `''...''`. */
const lexIndString = (): void => {
  const start = pos;
  const c = text.charCodeAt(pos);
  const c1 = code(pos + 1);
  if (c === C_APOS && c1 === C_APOS) {
    const c2 = code(pos + 2);
    if (c2 === C_DOLLAR || c2 === C_APOS) {
      // `''$` and `'''`: escapes.
      push('StringContent', start, pos + 3);
      pos += 3;
      return;
    }
    if (c2 === C_BACKSLASH && pos + 3 < n) {
      // `''\x`: escape of any character (one code point).
      const x = text.charCodeAt(pos + 3);
      const len = x >= 0xd800 && x <= 0xdbff && pos + 4 < n ? 5 : 4;
      push('StringContent', start, pos + len);
      pos += len;
      return;
    }
    pop();
    push('IndStringClose', start, pos + 2);
    pos += 2;
    return;
  }
  if (c === C_DOLLAR && c1 === C_LBRACE) {
    stack.push(INTERP);
    push('DollarCurly', start, pos + 2);
    pos += 2;
    return;
  }
  if (c === C_APOS || c === C_DOLLAR) {
    // A lone `'` or `$` that the run below does not take.
    let i = pos;
    if (c === C_APOS ? c1 >= 0 && c1 !== C_APOS && c1 !== C_DOLLAR : c1 >= 0 && c1 !== C_LBRACE && c1 !== C_APOS) {
      i = scanIndRun(pos);
    } else i = pos + 1;
    push('StringContent', start, i);
    pos = i;
    return;
  }
  const i = scanIndRun(pos);
  push('StringContent', start, i);
  pos = i;
};
/** `([^\$\']|\$[^\{\']|\'[^\'\$])+` from p (assumed to match at least once). */
const scanIndRun = (p: number): number => {
  let i = p;
  while (i < n) {
    const d = text.charCodeAt(i);
    if (d !== C_DOLLAR && d !== C_APOS) {
      i = skipRun(PLAIN_IND_STRING, text, i);
      continue;
    }
    if (d === C_DOLLAR) {
      const e = code(i + 1);
      if (e < 0 || e === C_LBRACE || e === C_APOS) break;
      i += 2;
      continue;
    }
    if (d === C_APOS) {
      const e = code(i + 1);
      if (e < 0 || e === C_APOS || e === C_DOLLAR) break;
      i += 2;
      continue;
    }
    i++;
  }
  return i > p ? i : p + 1;
};

/** After a path segment (INPATH / INPATH_SLASH). */
const lexInPath = (state: number): boolean => {
  const c = text.charCodeAt(pos);
  if (c === C_DOLLAR && code(pos + 1) === C_LBRACE) {
    stack.pop();
    stack.push(INPATH);
    stack.push(INTERP);
    push('DollarCurly', pos, pos + 2);
    pos += 2;
    return true;
  }
  // `{PATH}|{PATH_SEG}|{PATH_CHAR}+`
  const p = pos;
  let len = matchPath(p);
  const chars = skipPathChars(p) - p;
  const seg = code(p + chars) === C_SLASH ? chars + 1 : 0;
  len = Math.max(len, seg, chars);
  if (len > 0) {
    stack.pop();
    stack.push(text.charCodeAt(p + len - 1) === C_SLASH ? INPATH_SLASH : INPATH);
    push('PathContent', p, p + len);
    pos = p + len;
    return true;
  }
  // The path ends here.
  stack.pop();
  if (state === INPATH_SLASH) error('path has a trailing slash', count > 0 ? starts[count - 1]! : pos, pos);
  return false;
};

/** Tokenizes `source` completely. Never throws; every character ends up in exactly one token. */
export function lex(source: string): LexResult {
  const { table, errors } = lexTable(source);
  const tokens: SyntaxToken[] = new Array<SyntaxToken>(table.count);
  for (let i = 0; i < table.count; i++) tokens[i] = tokenOf(table, i, source);
  return { tokens, errors };
}

/** Token `i` of a table as an object (a new one on every call). */
export function tokenOf(table: TokenTable, i: number, source: string): SyntaxToken {
  return new SyntaxToken(TOKEN_KINDS[table.kinds[i]!]!, table.starts[i]!, table.ends[i]!, source);
}

/** {@link lex}, with the tokens as a compact table. */
export function lexTable(source: string): TableLexResult {
  text = source;
  n = source.length;
  // About one token for every two characters in real files; grown as needed.
  const capacity = Math.min(Math.max(n, 16), 64 + (n >> 1));
  kinds = new Uint8Array(capacity);
  starts = new Int32Array(capacity);
  ends = new Int32Array(capacity);
  count = 0;
  errors = [];
  stack = [DEFAULT];
  pos = 0;
  runLo = runHi = schemeLo = schemeHi = -1;
  run();
  // A table much larger than its tokens is copied down to size (the parser keeps it while it builds the tree).
  const trim = count < kinds.length - (kinds.length >> 2);
  const result: TableLexResult = {
    table: trim
      ? { count, kinds: kinds.slice(0, count), starts: starts.slice(0, count), ends: ends.slice(0, count) }
      : { count, kinds: kinds.subarray(0, count), starts: starts.subarray(0, count), ends: ends.subarray(0, count) },
    errors,
  };
  // Keep nothing of this text alive between calls.
  text = '';
  kinds = new Uint8Array(0);
  starts = new Int32Array(0);
  ends = new Int32Array(0);
  count = 0;
  errors = [];
  return result;
}

function run(): void {
  while (pos < n) {
    const state = stack[stack.length - 1]!;
    if (state === DEFAULT || state === INTERP) {
      // Inline fast path for the two most common tokens: whitespace and plain identifiers.
      const c = text.charCodeAt(pos);
      if (c === C_SPACE || c === C_LF || c === C_TAB || c === C_CR) {
        let i = pos + 1;
        for (; i < n; i++) {
          const d = text.charCodeAt(i);
          if (d !== C_SPACE && d !== C_TAB && d !== C_LF && d !== C_CR) break;
        }
        push('Whitespace', pos, i);
        pos = i;
        continue;
      }
      lexDefault();
      continue;
    }
    if (state === STRING) lexString();
    else if (state === IND_STRING) lexIndString();
    else if (state === INPATH || state === INPATH_SLASH) {
      if (!lexInPath(state)) continue;
    } else lexDefault();
  }
  // End of input: what is still open.
  const state = top();
  if (state === INPATH_SLASH) error('path has a trailing slash', count > 0 ? starts[count - 1]! : n, n);
}

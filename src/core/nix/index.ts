/**
 * Reading Nix source exactly as Nix does: an error-tolerant parser with a lossless syntax tree, positions,
 * and the attribute-path queries the lint and the pin edit need.
 *
 * ```ts
 * import { parse, LineIndex, findAttrBindings, constantValue, printTree } from '../core/nix';
 * const { root, errors } = parse(text);          // never throws; errors: { message, start, end }[]
 * printTree(root) === text;                      // always true
 * for (const b of findAttrBindings(root, ['system', 'stateVersion'])) {
 *   constantValue(b.value);                      // { kind: 'string', value: '24.05' } | undefined
 *   b.wrappers.map((w) => w.name);               // ['mkDefault'] for `lib.mkDefault "24.05"`
 * }
 * new LineIndex(text).positionAt(errors[0].start); // { line, character }, 0-based, UTF-16
 * ```
 *
 * Scope errors (undefined variables, attributes defined twice) are not syntax errors: `parse` does not report
 * them; {@link checkScope} does (scope.ts explains what it reports and why).
 */
export { parse, MAX_REPORTED_ERRORS, PARSE_MAX_CHARS, type ParseResult, type ParseError } from './parser';
export { checkScope, NIX_GLOBALS, type ScopeError, type ScopeOptions } from './scope';
export { lex, type LexResult, type LexError } from './lexer';
export { SyntaxNode, SyntaxToken, isTrivia, type SyntaxElement, type NodeKind, type TokenKind } from './syntax';
export { LineIndex, type Position, type Range } from './lineIndex';
export {
  printTree,
  nodeText,
  forEachToken,
  tokensOf,
  walkNodes,
  childNodes,
  childNode,
  childToken,
  childTokens,
  hasToken,
  ancestors,
  tokenAt,
  nodeCovering,
} from './tree';
export {
  attrName,
  attrPathNames,
  staticAttrPath,
  identName,
  unparen,
  asCall,
  dottedName,
  peelWrappers,
  peelPriority,
  PRIORITY_WRAPPERS,
  callParts,
  constantValue,
  stringValue,
  unescapeString,
  setEntries,
  isRecursive,
  valueSets,
  getAttr,
  lambdaInfo,
  rootExpr,
  findCalls,
  flakeOutputs,
  resolveVariable,
  letValue,
  collectBindings,
  findAttrBindings,
  moduleSets,
  findInsertionSet,
  type InsertionPoint,
  type Call,
  type Wrapper,
  type ConstantValue,
  type SetEntry,
  type Formal,
  type LambdaInfo,
  type VariableSource,
  type AttrBinding,
  type BindingSearchOptions,
} from './query';

import type { ASTNode } from '@marcbachmann/cel-js';

// What a CEL condition may cost. cel-js bounds the shape of an expression (nodes, nesting, literal
// sizes) but not the work of evaluating it: comprehensions (`all`, `exists`, `exists_one`, `map`,
// `filter`) nested in each other multiply, and `in` scans a list. So every condition gets an
// estimate of the steps it takes, as a function of the largest collection it may be handed at run
// time (a list or map inside `key.metadata`, or `request.headers`): literals count what they hold,
// a list built from others (`a + b`, `map`, `filter`) what those hold. A condition whose estimate
// with collections of CONDITION_COLLECTION_CAP is over CONDITION_STEP_BUDGET is refused when set;
// at evaluation, when the key's own collections are larger than that, the estimate is taken again
// with their real size and a condition over the budget denies without being run.

/** Steps (nodes visited, iterations of comprehensions, list elements scanned) one evaluation may take. */
export const CONDITION_STEP_BUDGET = 20_000;
/** The collection size assumed for values only known at run time when a condition is set. */
export const CONDITION_COLLECTION_CAP = 100;

/** Structural limits handed to cel-js's parser. */
export const CONDITION_PARSE_LIMITS = { maxAstNodes: 1_000, maxDepth: 32, maxListElements: 100, maxMapEntries: 100, maxCallArguments: 8 };

const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

export interface ConditionCost {
  /** Estimated steps with every run-time collection of `size` elements. */
  steps(size: number): number;
  /** Whether the estimate depends on run-time collection sizes at all. */
  readonly dependsOnInput: boolean;
}

function isNode(v: unknown): v is ASTNode {
  return typeof v === 'object' && v !== null && 'op' in v && 'args' in v;
}

/** Estimated number of elements `node` evaluates to, when it is a collection. */
function sizeOf(node: unknown, unknown: number): number {
  if (!isNode(node)) return unknown;
  if (node.op === 'list' || node.op === 'map') return (node.args as unknown[]).length;
  if (node.op === '+') {
    const [a, b] = node.args as unknown[];
    return sizeOf(a, unknown) + sizeOf(b, unknown);
  }
  if (node.op === 'rcall') {
    const [name, receiver] = node.args as unknown as [string, unknown];
    if (name === 'map' || name === 'filter') return sizeOf(receiver, unknown);
  }
  return unknown;
}

/** Whether `node` names a collection whose size is only known at run time. */
function sizeIsInput(node: unknown): boolean {
  if (!isNode(node)) return true;
  if (node.op === 'list' || node.op === 'map') return false;
  if (node.op === '+') return (node.args as unknown[]).some(sizeIsInput);
  if (node.op === 'rcall') {
    const [name, receiver] = node.args as unknown as [string, unknown];
    if (name === 'map' || name === 'filter') return sizeIsInput(receiver);
  }
  return true;
}

function childrenCost(args: unknown, unknown: number): number {
  if (Array.isArray(args)) return args.reduce<number>((sum, a) => sum + stepsOf(a, unknown), 0);
  return isNode(args) ? stepsOf(args, unknown) : 0;
}

/** Estimated evaluation steps of `node` with run-time collections of `unknown` elements. */
function stepsOf(node: unknown, unknown: number): number {
  if (Array.isArray(node)) return childrenCost(node, unknown);
  if (!isNode(node)) return 0;
  if (node.op === 'rcall') {
    const [name, receiver, args] = node.args as unknown as [string, unknown, unknown[]];
    if (COMPREHENSIONS.has(name) && Array.isArray(args) && args.length >= 2) {
      const body = args.slice(1);
      return 1 + stepsOf(receiver, unknown) + sizeOf(receiver, unknown) * (1 + childrenCost(body, unknown));
    }
    return 1 + stepsOf(receiver, unknown) + childrenCost(args, unknown);
  }
  if (node.op === 'in') {
    const [needle, haystack] = node.args as unknown[];
    return 1 + stepsOf(needle, unknown) + stepsOf(haystack, unknown) + sizeOf(haystack, unknown);
  }
  return 1 + childrenCost(node.args, unknown);
}

/** Whether any comprehension or `in` of `node` ranges over a run-time collection. */
function dependsOnInput(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(dependsOnInput);
  if (!isNode(node)) return false;
  if (node.op === 'rcall') {
    const [name, receiver, args] = node.args as unknown as [string, unknown, unknown[]];
    if (COMPREHENSIONS.has(name) && sizeIsInput(receiver)) return true;
    return dependsOnInput(receiver) || dependsOnInput(args);
  }
  if (node.op === 'in' && sizeIsInput((node.args as unknown[])[1])) return true;
  return Array.isArray(node.args) ? node.args.some(dependsOnInput) : false;
}

export function conditionCost(ast: ASTNode): ConditionCost {
  return { steps: (size) => stepsOf(ast, size), dependsOnInput: dependsOnInput(ast) };
}

const largestCache = new WeakMap<object, number>();

/** The element count of the largest list or map inside `value` (0 for scalars), memoized per object. */
export function largestCollection(value: unknown, depth = 0): number {
  if (typeof value !== 'object' || value === null || depth > 64) return 0;
  const cached = largestCache.get(value);
  if (cached !== undefined) return cached;
  const items = Array.isArray(value) ? value : Object.values(value);
  let largest = items.length;
  for (const item of items) largest = Math.max(largest, largestCollection(item, depth + 1));
  largestCache.set(value, largest);
  return largest;
}

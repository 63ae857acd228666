import { Environment, type ASTNode, type ParseResult } from '@marcbachmann/cel-js';
import { LRUCache } from 'lru-cache';
import { badInput } from '../infra/errors';
import { CONDITION_COLLECTION_CAP, CONDITION_PARSE_LIMITS, CONDITION_STEP_BUDGET, conditionCost, largestCollection, type ConditionCost } from './condition-cost';

// CEL conditions on a key: compiled once per expression text, type-checked against the
// declared request/key attributes, and evaluated fail-closed: any error or non-boolean denies.

/** What the request looks like to a condition. Absent strings are seen as "" (as CEL/proto3 does). */
export interface ConditionRequest {
  ip: string;
  /** Epoch milliseconds or a Date; a CEL timestamp (getHours() etc. are UTC unless given a zone). */
  time: number | Date;
  agentId?: string | null;
  workflowId?: string | null;
  permission: string;
  country?: string | null;
  method?: string | null;
  path?: string | null;
  /** Names are lower-cased; repeated headers are joined with ", ". */
  headers?: Readonly<Record<string, string | readonly string[] | undefined>> | null;
}

export interface ConditionKey {
  type: string;
  metadata?: Readonly<Record<string, unknown>> | null;
}

export interface ConditionAttributes {
  request: ConditionRequest;
  key: ConditionKey;
}

export interface CompiledCondition {
  readonly expression: string;
  /** The checked result type: "bool", or "dyn" when only evaluation can tell. */
  readonly resultType: string;
  /** Evaluates the program; throws on evaluation errors (use evaluateCondition). */
  readonly run: (context: Record<string, unknown>) => unknown;
  /** Its estimated cost (see condition-cost.ts); absent: constant and small. */
  readonly cost?: ConditionCost;
}

// Typed messages so the checker knows every field (a `schema` with a timestamp field trips a
// cel-js 8.0.0 bug, so the types are registered with constructors instead).
class RequestMessage {
  constructor(
    readonly ip: string,
    readonly time: Date,
    readonly agentId: string,
    readonly workflowId: string,
    readonly permission: string,
    readonly country: string,
    readonly method: string,
    readonly path: string,
    readonly headers: Record<string, string>,
  ) {}
}
class KeyMessage {
  constructor(
    readonly type: string,
    readonly metadata: Readonly<Record<string, unknown>>,
  ) {}
}

const env = new Environment({ limits: CONDITION_PARSE_LIMITS })
  .registerType('keywarden.Request', {
    ctor: RequestMessage,
    fields: {
      ip: 'string',
      time: 'google.protobuf.Timestamp',
      agentId: 'string',
      workflowId: 'string',
      permission: 'string',
      country: 'string',
      method: 'string',
      path: 'string',
      headers: 'map<string, string>',
    },
  })
  .registerType('keywarden.Key', { ctor: KeyMessage, fields: { type: 'string', metadata: 'map<string, dyn>' } })
  .registerVariable('request', 'keywarden.Request', { description: 'The request being verified' })
  .registerVariable('key', 'keywarden.Key', { description: 'The key presented' });

/** Functions refused at compile time. `matches` runs a backtracking RegExp on caller-controlled input (ReDoS). */
const FORBIDDEN_FUNCTIONS = new Set(['matches']);

const compiled = new LRUCache<string, CompiledCondition>({ max: 1_000 });

/** One line, with the column, from a cel-js error (its message carries a multi-line source excerpt). */
function describe(err: unknown): string {
  const e = err as { name?: string; summary?: string; message?: string; range?: { start: number } };
  const what = e.name === 'ParseError' ? 'syntax error' : e.name === 'TypeError' ? 'type error' : 'error';
  const text = e.summary ?? String(e.message ?? err).split('\n')[0];
  return e.range ? `${what} at column ${e.range.start + 1}: ${text}` : `${what}: ${text}`;
}

function isNode(v: unknown): v is ASTNode {
  return typeof v === 'object' && v !== null && 'op' in v && 'args' in v;
}

/** The name of the first forbidden function the AST calls, if any. */
function forbiddenCall(node: unknown): string | null {
  if (Array.isArray(node)) {
    for (const n of node) {
      const hit = forbiddenCall(n);
      if (hit) return hit;
    }
    return null;
  }
  if (!isNode(node)) return null;
  if ((node.op === 'call' || node.op === 'rcall') && FORBIDDEN_FUNCTIONS.has(node.args[0])) return node.args[0];
  return Array.isArray(node.args) ? forbiddenCall(node.args) : null;
}

function compileUncached(expression: string): CompiledCondition {
  let program: ParseResult;
  try {
    program = env.parse(expression);
  } catch (err) {
    throw new Error(describe(err));
  }
  const checked = program.check(); // also marks the AST as checked, so evaluation skips the checker
  if (!checked.valid) throw new Error(describe(checked.error));
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    throw new Error(`type error: the condition must be a boolean expression, not ${checked.type}`);
  }
  const banned = forbiddenCall(program.ast);
  if (banned) throw new Error(`${banned}() is not allowed in conditions (use startsWith, endsWith or contains)`);
  const cost = conditionCost(program.ast);
  const steps = cost.steps(CONDITION_COLLECTION_CAP);
  if (steps > CONDITION_STEP_BUDGET) {
    throw new Error(
      `too costly: about ${Math.round(steps)} evaluation steps (at most ${CONDITION_STEP_BUDGET}; lists in key.metadata counted as ${CONDITION_COLLECTION_CAP} elements); nest fewer comprehensions or iterate shorter lists`,
    );
  }
  return Object.freeze({ expression, resultType: checked.type!, run: program, cost: cost.dependsOnInput ? cost : undefined });
}

/** A checked, reusable program for `expression`; throws an Error naming the problem. Cached by text. */
export function compileCondition(expression: string): CompiledCondition {
  let program = compiled.get(expression);
  if (!program) {
    program = compileUncached(expression);
    compiled.set(expression, program);
  }
  return program;
}

/** Input validation for a key's `condition`: syntax, types and result type. */
export function validateCondition(field: string, expr: string): void {
  try {
    compileCondition(expr);
  } catch (err) {
    throw badInput(field, (err as Error).message);
  }
}

function headerMap(headers: ConditionRequest['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const name of Object.keys(headers)) {
    const v = headers[name];
    if (v === undefined) continue;
    out[name.toLowerCase()] = typeof v === 'string' ? v : v.join(', ');
  }
  return out;
}

/** The CEL activation for `attrs`: typed messages, absent strings as "". */
function conditionContext(attrs: ConditionAttributes): Record<string, unknown> {
  const r = attrs.request;
  const request = new RequestMessage(
    r.ip ?? '',
    r.time instanceof Date ? r.time : new Date(r.time),
    r.agentId ?? '',
    r.workflowId ?? '',
    r.permission ?? '',
    r.country ?? '',
    r.method ?? '',
    r.path ?? '',
    headerMap(r.headers),
  );
  return { request, key: new KeyMessage(attrs.key.type ?? '', attrs.key.metadata ?? {}) };
}

/** True only when the program evaluates to `true`; any evaluation error or other value denies. */
export function evaluateCondition(program: CompiledCondition, attrs: ConditionAttributes): boolean {
  if (program.cost && !withinBudget(program.cost, attrs)) return false;
  try {
    return program.run(conditionContext(attrs)) === true;
  } catch {
    return false;
  }
}

/** Whether evaluating a condition that iterates run-time collections stays within the step budget for these attributes. */
function withinBudget(cost: ConditionCost, attrs: ConditionAttributes): boolean {
  const headers = attrs.request.headers ? Object.keys(attrs.request.headers).length : 0;
  const largest = Math.max(largestCollection(attrs.key.metadata), headers);
  // Up to the cap the estimate made when the condition was set holds.
  return largest <= CONDITION_COLLECTION_CAP || cost.steps(largest) <= CONDITION_STEP_BUDGET;
}

/** A stored condition that no longer compiles denies (fail closed) rather than being skipped. */
const DENY_ALL: CompiledCondition = Object.freeze({ expression: 'false', resultType: 'bool', run: () => false });

/** The program for a stored condition (null: none); one that does not compile denies everything. */
export function compileOrDeny(expression: string | null): CompiledCondition | null {
  if (!expression) return null;
  try {
    return compileCondition(expression);
  } catch {
    return DENY_ALL;
  }
}

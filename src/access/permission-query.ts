import { covers, permissionStringProblem } from './permission-strings';

// The verify endpoint's permission query: permission strings joined by AND and OR, grouped by
// parentheses ("agents.execute AND (billing.read OR billing.write)"); AND binds tighter than OR.
// A small recursive-descent parser over a hand-written scanner: no regular expression is ever
// built from the caller's text. Parsed once per distinct query (the caller caches the result).

export type PermissionQuery = { kind: 'name'; name: string } | { kind: 'and' | 'or'; items: PermissionQuery[] };

export class PermissionQueryError extends Error {}

const MAX_QUERY = 1_000;
const MAX_DEPTH = 32;

type Token = { kind: 'name' | 'and' | 'or' | 'open' | 'close'; text: string; at: number };

function isNameChar(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '_' || c === '-' || c === '.' || c === '*';
}

function scan(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const c = query[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push({ kind: c === '(' ? 'open' : 'close', text: c, at: i });
      i++;
    } else if (isNameChar(c)) {
      const start = i;
      while (i < query.length && isNameChar(query[i])) i++;
      const text = query.slice(start, i);
      const kind = text === 'AND' ? 'and' : text === 'OR' ? 'or' : 'name';
      if (kind === 'name') {
        const problem = permissionStringProblem(text);
        if (problem) throw new PermissionQueryError(`"${text}" at position ${start + 1} ${problem}`);
      }
      tokens.push({ kind, text, at: start });
    } else {
      throw new PermissionQueryError(`unexpected "${c}" at position ${i + 1}`);
    }
  }
  return tokens;
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): PermissionQuery {
    if (this.tokens.length === 0) throw new PermissionQueryError('is empty');
    const q = this.expression(0);
    const rest = this.tokens[this.i];
    if (rest) throw new PermissionQueryError(`unexpected "${rest.text}" at position ${rest.at + 1}`);
    return q;
  }

  private expression(depth: number): PermissionQuery {
    return this.joined('or', () => this.joined('and', () => this.operand(depth)));
  }

  private joined(kind: 'and' | 'or', next: () => PermissionQuery): PermissionQuery {
    const items = [next()];
    while (this.tokens[this.i]?.kind === kind) {
      this.i++;
      items.push(next());
    }
    return items.length === 1 ? items[0] : { kind, items };
  }

  private operand(depth: number): PermissionQuery {
    const t = this.tokens[this.i];
    if (!t) throw new PermissionQueryError('ends where a permission or "(" was expected');
    if (t.kind === 'name') {
      this.i++;
      return { kind: 'name', name: t.text };
    }
    if (t.kind !== 'open') throw new PermissionQueryError(`expected a permission or "(" at position ${t.at + 1}, found "${t.text}"`);
    if (depth >= MAX_DEPTH) throw new PermissionQueryError(`nests deeper than ${MAX_DEPTH} parentheses`);
    this.i++;
    const inner = this.expression(depth + 1);
    const close = this.tokens[this.i];
    if (close?.kind !== 'close') throw new PermissionQueryError(close ? `expected ")" at position ${close.at + 1}, found "${close.text}"` : 'ends before a ")"');
    this.i++;
    return inner;
  }
}

/** The parsed query; PermissionQueryError (saying where and why) when it is malformed. */
export function parsePermissionQuery(query: string): PermissionQuery {
  if (query.length > MAX_QUERY) throw new PermissionQueryError(`is longer than ${MAX_QUERY} characters`);
  return new Parser(scan(query)).parse();
}

/**
 * Does a key holding `held` (its effective strings) satisfy `q`? A name is satisfied by a held
 * string that covers it ("billing.*" satisfies "billing.read"); a wildcard name also by any held
 * string under it ("billing.*" is satisfied by holding "billing.read").
 */
export function satisfies(q: PermissionQuery, held: readonly string[]): boolean {
  switch (q.kind) {
    case 'name':
      return held.some((h) => covers(h, q.name) || covers(q.name, h));
    case 'and':
      return q.items.every((i) => satisfies(i, held));
    case 'or':
      return q.items.some((i) => satisfies(i, held));
  }
}

import { badInput } from '../infra/errors';

// Permission strings beside the four levels: dot-separated lower-case segments
// ("billing.invoices.read"); a final "*" segment matches any rest ("billing.*", or "*" alone for
// everything). A key's effective set is its own strings plus its roles', narrowed along its
// ancestor chain. Plain functions of their arguments, tested with tables.

const MAX_LENGTH = 200;
const MAX_LIST = 200;

function isSegmentChar(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c === '_' || c === '-';
}

/** Why `s` is not a permission string, or null when it is one. */
export function permissionStringProblem(s: string): string | null {
  if (s.length === 0) return 'must not be empty';
  if (s.length > MAX_LENGTH) return `must be at most ${MAX_LENGTH} characters`;
  const segments = s.split('.');
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    if (seg === '') return 'has an empty segment (two dots, or a dot at either end)';
    if (seg === '*') {
      if (i !== segments.length - 1) return '"*" may only be the last segment';
      continue;
    }
    for (const c of seg) {
      if (c >= 'A' && c <= 'Z') return 'must be lower case';
      if (!isSegmentChar(c)) return `has "${c}": segments hold a-z, 0-9, "_" and "-" only`;
    }
  }
  return null;
}

/** Validated, de-duplicated, sorted; errors name the entry (`input.permissions[2]`). */
export function normalizePermissionStrings(field: string, list: readonly string[]): string[] {
  if (list.length > MAX_LIST) throw badInput(field, `at most ${MAX_LIST} permission strings`);
  list.forEach((s, i) => {
    const problem = permissionStringProblem(s);
    if (problem) throw badInput(`${field}[${i}]`, `"${s}" ${problem}`);
  });
  return [...new Set(list)].sort();
}

/** Does holding `held` grant `wanted`? A final "*" covers any rest, wildcards included ("a.*" covers "a.b.*"). */
export function covers(held: string, wanted: string): boolean {
  if (held === wanted || held === '*') return true;
  if (!held.endsWith('.*')) return false;
  const prefix = held.slice(0, -1); // keeps the dot: "billing."
  return wanted.length > prefix.length && wanted.startsWith(prefix);
}

/** Is every string of `wanted` granted by some string of `held`? The strings that are not, in order. */
export function notCovered(wanted: readonly string[], held: readonly string[]): string[] {
  return wanted.filter((w) => !held.some((h) => covers(h, w)));
}

/** What two sets both grant: the strings of each that the other covers. */
export function intersectPermissions(a: readonly string[], b: readonly string[]): string[] {
  const out = new Set<string>();
  for (const s of a) if (b.some((h) => covers(h, s))) out.add(s);
  for (const s of b) if (a.some((h) => covers(h, s))) out.add(s);
  return withoutRedundant([...out]);
}

/** Sorted, without duplicates and without strings another one covers ("billing.read" beside "billing.*"). */
function withoutRedundant(list: readonly string[]): string[] {
  const unique = [...new Set(list)];
  return unique.filter((s) => !unique.some((o) => o !== s && covers(o, s))).sort();
}

/** A key's effective strings: each link's own plus its roles' (`chain[0]` the key), intersected up the chain. */
export function effectivePermissions(chain: readonly (readonly string[])[]): string[] {
  if (chain.length === 0) return [];
  let acc = withoutRedundant(chain[0]);
  for (let i = 1; i < chain.length && acc.length > 0; i++) acc = intersectPermissions(acc, chain[i]);
  return acc;
}

// JSON values as PostgreSQL's jsonb columns hold them. What the audit log hashes and what the
// outbox stores are built from such copies, so they are exactly what is read back later.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A JSON-safe copy: Dates become ISO strings, undefined properties are dropped, undefined itself is null. */
export function toJson(value: unknown): JsonValue {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

/** toJson for an object: the copy is an object too. */
export function toJsonObject(value: Readonly<Record<string, unknown>>): JsonObject {
  return JSON.parse(JSON.stringify(value));
}

/** How deep `value` nests objects and arrays (a scalar is 0); stops counting past `max`. */
export function jsonDepth(value: unknown, max: number, depth = 0): number {
  if (typeof value !== 'object' || value === null || depth > max) return depth;
  let deepest = depth + 1;
  for (const v of Object.values(value)) {
    deepest = Math.max(deepest, jsonDepth(v, max, depth + 1));
    if (deepest > max) break;
  }
  return deepest;
}

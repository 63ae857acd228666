// Every error the SDK throws is a KeywardenError; the subclasses say what went wrong, so a
// caller can tell an outage (fail-open/closed applies) from a refusal or a bug in its own call.

export class KeywardenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A call the SDK refuses before sending it (names the field). */
export class KeywardenInputError extends KeywardenError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** Keywarden answered with an error status and the envelope `{"error":{"code","message"}}`. */
export class KeywardenHttpError extends KeywardenError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds, from Retry-After, when Keywarden sent one. */
    readonly retryAfter: number | null = null,
  ) {
    super(`Keywarden answered ${status} ${code}: ${message}`);
  }
}

/** No answer within `timeoutMs`. */
export class KeywardenTimeoutError extends KeywardenError {
  constructor(
    readonly timeoutMs: number,
    url: string,
  ) {
    super(`Keywarden did not answer within ${timeoutMs} ms (${url})`);
  }
}

/** Keywarden could not be reached, or answered 5xx (it is up but cannot decide). */
export class KeywardenUnavailableError extends KeywardenError {
  constructor(
    message: string,
    readonly status: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The server does not support what the call asked for (e.g. a permission query on a server older than permission strings). */
export class KeywardenUnsupportedError extends KeywardenError {}

export interface GraphQLErrorEntry {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; [k: string]: unknown };
}

/** The admin endpoint answered GraphQL errors; `code` is the first error's `extensions.code`. */
export class KeywardenGraphQLError extends KeywardenError {
  readonly code: string | null;
  constructor(
    readonly errors: GraphQLErrorEntry[],
    readonly data: unknown,
    readonly status: number,
  ) {
    super(errors.map((e) => (e.extensions?.code ? `${e.extensions.code}: ${e.message}` : e.message)).join('; ') || `GraphQL request failed (${status})`);
    this.code = errors.find((e) => e.extensions?.code)?.extensions?.code ?? null;
  }
}

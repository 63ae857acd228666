// Errors the domain raises on purpose. The GraphQL layer maps `code` to extensions.code;
// anything that is not a KeywardenError is unexpected and gets masked.
export type ErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT' | 'CONFLICT' | 'EXCEEDS_PARENT' | 'QUERY_TOO_COMPLEX' | 'APPROVAL_REQUIRED';

export class KeywardenError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The input path at fault, e.g. "input.scope.agentId". */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'KeywardenError';
  }
}

export const badInput = (field: string, message: string) => new KeywardenError('BAD_USER_INPUT', `${field}: ${message}`, field);
export const notFound = (what: string, id?: string) => new KeywardenError('NOT_FOUND', id ? `${what} ${id} was not found` : `${what} was not found`);
export const forbidden = (message: string) => new KeywardenError('FORBIDDEN', message);

import { forgetKey, storedKey } from './session';

// The dashboard's only way to Keywarden: POST /graphql with the signed-in key.

export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    /** The input path at fault (extensions.field), e.g. "input.upstreamUrl". */
    readonly field?: string,
  ) {
    super(message);
  }
}

type Listener = () => void;
const signedOutListeners = new Set<Listener>();
export function onSignedOut(fn: Listener): () => void {
  signedOutListeners.add(fn);
  return () => signedOutListeners.delete(fn);
}

export async function gql<T>(query: string, variables: Record<string, unknown> = {}, secret = storedKey()): Promise<T> {
  if (!secret) throw new GraphQLRequestError('not signed in', 'UNAUTHENTICATED');
  let res: Response;
  try {
    res = await fetch(new URL('../graphql', window.location.href), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
      body: JSON.stringify({ query, variables }),
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    throw new GraphQLRequestError('Keywarden is not reachable', 'NETWORK');
  }
  let body: { data?: T; errors?: { message: string; extensions?: { code?: string; field?: string } }[] };
  try {
    body = await res.json();
  } catch {
    throw new GraphQLRequestError(`unexpected answer from Keywarden (HTTP ${res.status})`, 'NETWORK');
  }
  if (body.errors?.length) {
    const first = body.errors[0];
    const code = first.extensions?.code;
    if (code === 'UNAUTHENTICATED') {
      forgetKey();
      signedOutListeners.forEach((fn) => fn());
    }
    throw new GraphQLRequestError(first.message, code, first.extensions?.field);
  }
  if (!body.data) throw new GraphQLRequestError('empty answer from Keywarden', undefined);
  return body.data;
}

export function errorText(err: unknown): string {
  if (err instanceof GraphQLRequestError) return err.code && err.code !== 'NETWORK' ? `${err.message} (${err.code})` : err.message;
  return err instanceof Error ? err.message : String(err);
}

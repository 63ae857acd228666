import { useCallback, useEffect, useState } from 'react';
import { errorText, gql, GraphQLRequestError } from './api';

export interface QueryState<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** Runs a GraphQL query whenever `variables` change (compared as JSON). */
export function useQuery<T>(query: string, variables: Record<string, unknown> = {}, opts: { skip?: boolean } = {}): QueryState<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  const varsKey = JSON.stringify(variables);
  const skip = opts.skip ?? false;
  // biome-ignore lint/correctness/useExhaustiveDependencies: `generation` is not read; reload() bumps it to run the query again.
  useEffect(() => {
    if (skip) {
      setLoading(false);
      return;
    }
    let live = true;
    setLoading(true);
    gql<T>(query, JSON.parse(varsKey)).then(
      (d) => {
        if (!live) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e) => {
        if (!live) return;
        setError(errorText(e));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [query, varsKey, generation, skip]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data, error, loading, reload };
}

/** A mutation with its pending state and last error. */
export function useMutation<T>(query: string) {
  const m = useFormMutation<T>(query);
  return { run: m.run, pending: m.pending, error: m.error?.message ?? null, code: m.error?.code, clearError: () => m.setError(null) };
}

export interface FieldErrors {
  /** The API's message when it names `path` (e.g. "input.email", or "input.ipAllowlist[0]" for "input.ipAllowlist"). */
  at(path: string): string | null;
  /** The message when it names none of `paths`: shown above the form. */
  elsewhere(paths: string[]): string | null;
}

/** A form's mutation whose error is placed next to the field it names (extensions.field). */
export function useFormMutation<T>(query: string) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<{ field?: string; code?: string; message: string } | null>(null);
  const run = useCallback(
    async (variables: Record<string, unknown>): Promise<T | null> => {
      setPending(true);
      setError(null);
      try {
        return await gql<T>(query, variables);
      } catch (e) {
        setError({ field: e instanceof GraphQLRequestError ? e.field : undefined, code: e instanceof GraphQLRequestError ? e.code : undefined, message: errorText(e) });
        return null;
      } finally {
        setPending(false);
      }
    },
    [query],
  );
  const at = (path: string) => (error && (error.field === path || error.field?.startsWith(`${path}[`)) ? error.message : null);
  const errors: FieldErrors = { at, elsewhere: (paths) => (error && !paths.some((p) => at(p)) ? error.message : null) };
  return { run, pending, error, errors, setError };
}

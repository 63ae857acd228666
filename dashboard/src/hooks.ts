import { useCallback, useEffect, useState } from 'react';
import { errorText, gql } from './api';

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

/** A mutation with its pending state and last error (as text, and as thrown: `failure` keeps the field it names). */
export function useMutation<T>(query: string) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const run = useCallback(
    async (variables: Record<string, unknown>): Promise<T | null> => {
      setPending(true);
      setError(null);
      setFailure(null);
      try {
        return await gql<T>(query, variables);
      } catch (e) {
        setError(errorText(e));
        setFailure(e);
        return null;
      } finally {
        setPending(false);
      }
    },
    [query],
  );
  const clearError = useCallback(() => {
    setError(null);
    setFailure(null);
  }, []);
  return { run, pending, error, failure, clearError };
}

import { isRedisDown } from '../infra/redis';
import { withLimitsCommands, type LimitsClient, type LimitsCommands } from './scripts';
// How the limits behave when Redis is slow or gone. Verification sits on every request, so a
// Redis outage must neither hang callers nor throw at them: each call gets a short deadline and
// the configured failure mode decides the answer (open: let traffic through uncounted; closed:
// deny it). The app reads RATE_LIMIT_FAILURE_MODE and logs what onError receives.

export type FailureMode = 'open' | 'closed';

export interface LimitsOptions {
  /** Default 'open'. */
  failureMode?: FailureMode;
  /**
   * Deadline per Redis call, ms (default 250). Enforced here as well as by any ioredis
   * `commandTimeout`, because the client is shared and configured by the caller. A call that
   * times out may still run in Redis later; open mode lets that request through anyway.
   */
  timeoutMs?: number;
  /** Told about every Redis failure; must not throw (it is guarded if it does). */
  onError?: (err: Error, operation: string) => void;
}

const DEFAULT_TIMEOUT_MS = 250;

export class LimitsTimeoutError extends Error {
  constructor(operation: string, ms: number) {
    super(`limits: ${operation} got no answer from Redis within ${ms} ms`);
    this.name = 'LimitsTimeoutError';
  }
}

// One shared ticker checks every pending call's deadline, instead of a timer per call: a timer
// per verification costs more than the rest of the bookkeeping on the hot path.
interface Pending {
  deadline: number;
  fail: (err: Error) => void;
  operation: string;
  ms: number;
}
const pending = new Set<Pending>();
let ticker: NodeJS.Timeout | undefined;
const TICK_MS = 25;

function tick(): void {
  const now = Date.now();
  for (const p of pending) {
    if (p.deadline <= now) {
      pending.delete(p);
      p.fail(new LimitsTimeoutError(p.operation, p.ms));
    }
  }
  if (pending.size === 0 && ticker) {
    clearInterval(ticker);
    ticker = undefined;
  }
}

export function withDeadline<T>(promise: Promise<T>, ms: number, operation: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const entry: Pending = { deadline: Date.now() + ms, fail: reject, operation, ms };
    pending.add(entry);
    if (!ticker) {
      ticker = setInterval(tick, Math.min(TICK_MS, ms));
      ticker.unref();
    }
    promise.then(
      (v) => {
        pending.delete(entry);
        resolve(v);
      },
      (err) => {
        pending.delete(entry);
        reject(err);
      },
    );
  });
}

/** Redis is known to be disconnected: the call was not sent, and the failure mode decides at once. */
export class RedisDownError extends Error {
  constructor(operation: string) {
    super(`limits: ${operation} not sent, Redis is disconnected`);
    this.name = 'RedisDownError';
  }
}

export function reportError(onError: LimitsOptions['onError'], err: unknown, operation: string): void {
  if (!onError) return;
  try {
    onError(err instanceof Error ? err : new Error(String(err)), operation);
  } catch {
    // A failing logger must not turn a degraded answer into a thrown one.
  }
}

/** What the Limiter and the ConcurrencyLimiter share: the script-aware client and how to fail. */
export abstract class RedisLimitsBase {
  protected readonly client: LimitsClient & LimitsCommands;
  protected readonly failureMode: FailureMode;
  protected readonly timeoutMs: number;
  protected readonly onError: LimitsOptions['onError'];

  constructor(
    client: LimitsClient,
    protected readonly prefix: string,
    options: LimitsOptions = {},
  ) {
    this.client = withLimitsCommands(client);
    this.failureMode = options.failureMode ?? 'open';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.onError = options.onError;
  }

  /**
   * One Redis call under the deadline. While the client is known to be disconnected it is not
   * sent at all (it would wait in the offline queue for the whole deadline): it fails at once.
   */
  protected call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    if (isRedisDown(this.client)) return Promise.reject(new RedisDownError(operation));
    return withDeadline(send(), this.timeoutMs, operation);
  }
}

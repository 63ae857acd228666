import { LRUCache } from 'lru-cache';
import type { ResolvedKey } from '../keys/resolve';
import { keyCacheLookups } from '../infra/metrics';

// In-process cache of resolved keys by digest, so a repeat verification reads no database.
// Unknown digests are cached briefly too (negative cache). Entries are dropped when any key of
// their chain changes (local event or Redis invalidation); loads racing an invalidation are
// not stored.

const MISSING = Symbol('missing');

export interface KeyCacheOptions {
  max?: number;
  ttlMs?: number;
  negativeTtlMs?: number;
}

export class KeyCache {
  private readonly lru: LRUCache<string, ResolvedKey | typeof MISSING>;
  private readonly inflight = new Map<string, Promise<ResolvedKey | null>>();
  private generation = 0;
  private readonly negativeTtlMs: number;
  hits = 0;
  misses = 0;

  constructor(
    private readonly load: (digest: string) => Promise<ResolvedKey | null>,
    opts: KeyCacheOptions = {},
  ) {
    this.lru = new LRUCache({ max: opts.max ?? 10_000, ttl: opts.ttlMs ?? 60_000 });
    this.negativeTtlMs = opts.negativeTtlMs ?? 5_000;
  }

  get(digest: string): Promise<ResolvedKey | null> {
    const hit = this.lru.get(digest);
    if (hit !== undefined) {
      this.hits++;
      keyCacheLookups.inc({ result: 'hit' });
      return Promise.resolve(hit === MISSING ? null : hit);
    }
    this.misses++;
    keyCacheLookups.inc({ result: 'miss' });
    let pending = this.inflight.get(digest);
    if (!pending) {
      const gen = this.generation;
      pending = this.load(digest)
        .then((key) => {
          if (gen === this.generation) {
            if (key) this.lru.set(digest, key);
            else this.lru.set(digest, MISSING, { ttl: this.negativeTtlMs });
          }
          return key;
        })
        .finally(() => this.inflight.delete(digest));
      this.inflight.set(digest, pending);
    }
    return pending;
  }

  /** Drops every entry whose chain includes one of `keyIds`. */
  invalidate(keyIds: readonly string[]): void {
    this.generation++;
    const ids = new Set(keyIds);
    for (const [digest, entry] of this.lru.entries()) {
      if (entry !== MISSING && entry.chainIds.some((id) => ids.has(id))) this.lru.delete(digest);
    }
  }

  clear(): void {
    this.generation++;
    this.lru.clear();
  }

  get size(): number {
    return this.lru.size;
  }
}

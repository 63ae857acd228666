import { LRUCache } from 'lru-cache';
import type { ResolvedKey } from './resolve';
import { keyCacheLookups } from '../infra/metrics';
import { logger } from '../infra/logger';

const cacheHits = keyCacheLookups.labels('hit');
const cacheMisses = keyCacheLookups.labels('miss');
const cacheStale = keyCacheLookups.labels('stale');

// In-process cache of resolved keys by digest, so a repeat verification reads no database.
// Unknown digests are cached briefly too (negative cache). Entries are dropped when any key of
// their chain changes (local event or Redis invalidation); loads racing an invalidation are
// not stored.
//
// Two fault modes (README, Reliability):
// - The database unreachable: a key whose entry expired is served from its last known resolution
//   (at most STALE_MAX_MS old), never one whose change or revocation this instance has heard of
//   since (invalidate drops it), and never an unknown one.
// - The invalidation channel down (Redis): changes made elsewhere go unheard, so entries older
//   than `freshForMs` count as expired until it is back (setFreshFor).

const MISSING = Symbol('missing');
/** How old a last known resolution may be and still be served while the database is unreachable. */
export const STALE_MAX_MS = 10 * 60_000;

interface KeyCacheOptions {
  max?: number;
  ttlMs?: number;
  negativeTtlMs?: number;
  staleMaxMs?: number;
}

interface Entry {
  key: ResolvedKey | typeof MISSING;
  /** performance.now() when it was loaded. */
  at: number;
}

export class KeyCache {
  private readonly lru: LRUCache<string, Entry>;
  /** The last resolution of each known key, kept past its cache entry for database outages. */
  private readonly lastKnown: LRUCache<string, ResolvedKey>;
  private readonly inflight = new Map<string, Promise<ResolvedKey | null>>();
  private generation = 0;
  /** What each recent generation bump dropped, so a load in flight is discarded only if it is affected. */
  private recent: { generation: number; ids: ReadonlySet<string> | 'all' }[] = [];
  private readonly negativeTtlMs: number;
  private freshForMs: number | null = null;
  private staleServed = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly load: (digest: string) => Promise<ResolvedKey | null>,
    opts: KeyCacheOptions = {},
  ) {
    this.lru = new LRUCache({ max: opts.max ?? 10_000, ttl: opts.ttlMs ?? 60_000 });
    this.lastKnown = new LRUCache({ max: opts.max ?? 10_000, ttl: opts.staleMaxMs ?? STALE_MAX_MS });
    this.negativeTtlMs = opts.negativeTtlMs ?? 5_000;
  }

  get(digest: string): Promise<ResolvedKey | null> {
    const hit = this.lru.get(digest);
    if (hit !== undefined && (this.freshForMs === null || performance.now() - hit.at <= this.freshForMs)) {
      this.hits++;
      cacheHits.inc();
      return Promise.resolve(hit.key === MISSING ? null : hit.key);
    }
    this.misses++;
    cacheMisses.inc();
    let pending = this.inflight.get(digest);
    if (!pending) {
      const gen = this.generation;
      pending = this.load(digest)
        .then(
          (key) => {
            if (!this.changedSince(gen, key)) this.store(digest, key);
            return key;
          },
          (err) => this.lastKnownOr(digest, err),
        )
        .finally(() => this.inflight.delete(digest));
      this.inflight.set(digest, pending);
    }
    return pending;
  }

  private store(digest: string, key: ResolvedKey | null): void {
    const at = performance.now();
    if (key) {
      this.lru.set(digest, { key, at });
      this.lastKnown.set(digest, key);
    } else {
      this.lru.set(digest, { key: MISSING, at }, { ttl: this.negativeTtlMs });
      this.lastKnown.delete(digest);
    }
    if (this.staleServed > 0) {
      logger.warn({ served: this.staleServed }, 'key resolution reads the database again; last known resolutions were served while it was unreachable');
      this.staleServed = 0;
    }
  }

  /** The load failed (the database is unreachable): the key's last known resolution, if any, else the error. */
  private lastKnownOr(digest: string, err: unknown): ResolvedKey {
    const last = this.lastKnown.get(digest);
    if (!last) throw err;
    if (this.staleServed++ === 0) logger.warn({ err: (err as Error)?.message }, 'cannot read keys from the database; serving last known resolutions of keys in use');
    cacheStale.inc();
    return last;
  }

  /**
   * While the invalidation channel is down, entries older than `ms` count as expired (null: it
   * is up again, entries live their normal time).
   */
  setFreshFor(ms: number | null): void {
    this.freshForMs = ms;
  }

  /** Did an invalidation since `gen` touch this loaded key's chain (or clear everything)? */
  private changedSince(gen: number, key: ResolvedKey | null): boolean {
    if (gen === this.generation) return false;
    const first = this.recent[0]?.generation ?? Infinity;
    if (first > gen + 1) return true; // older bumps were forgotten: assume the worst
    for (const r of this.recent) {
      if (r.generation <= gen) continue;
      if (r.ids === 'all' || !key || key.chainIds.some((id) => (r.ids as ReadonlySet<string>).has(id))) return true;
    }
    return false;
  }

  private bump(ids: ReadonlySet<string> | 'all'): void {
    this.generation++;
    this.recent.push({ generation: this.generation, ids });
    if (this.recent.length > 1000) this.recent.splice(0, this.recent.length - 1000);
  }

  /** Drops every entry (and last known resolution) whose chain includes one of `keyIds`. */
  invalidate(keyIds: readonly string[]): void {
    const ids = new Set(keyIds);
    this.bump(ids);
    for (const [digest, entry] of this.lru.entries()) {
      if (entry.key !== MISSING && entry.key.chainIds.some((id) => ids.has(id))) this.lru.delete(digest);
    }
    for (const [digest, key] of this.lastKnown.entries()) {
      if (key.chainIds.some((id) => ids.has(id))) this.lastKnown.delete(digest);
    }
  }

  /** Drops every entry and every last known resolution (changes may have been missed). */
  clear(): void {
    this.bump('all');
    this.lru.clear();
    this.lastKnown.clear();
  }

  get size(): number {
    return this.lru.size;
  }
}

import { LRUCache } from 'lru-cache';
import type { ResolvedKey } from './resolve';
import { keyCacheLookups } from '../infra/metrics';

const cacheHits = keyCacheLookups.labels('hit');
const cacheMisses = keyCacheLookups.labels('miss');

// In-process cache of resolved keys by digest, so a repeat verification reads no database.
// Unknown digests are cached briefly too (negative cache). Entries are dropped when any key of
// their chain changes (local event or Redis invalidation); loads racing an invalidation are
// not stored.

const MISSING = Symbol('missing');

interface KeyCacheOptions {
  max?: number;
  ttlMs?: number;
  negativeTtlMs?: number;
}

export class KeyCache {
  private readonly lru: LRUCache<string, ResolvedKey | typeof MISSING>;
  private readonly inflight = new Map<string, Promise<ResolvedKey | null>>();
  private generation = 0;
  /** What each recent generation bump dropped, so a load in flight is discarded only if it is affected. */
  private recent: { generation: number; ids: ReadonlySet<string> | 'all' }[] = [];
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
      cacheHits.inc();
      return Promise.resolve(hit === MISSING ? null : hit);
    }
    this.misses++;
    cacheMisses.inc();
    let pending = this.inflight.get(digest);
    if (!pending) {
      const gen = this.generation;
      pending = this.load(digest)
        .then((key) => {
          if (!this.changedSince(gen, key)) {
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

  /** Drops every entry whose chain includes one of `keyIds`. */
  invalidate(keyIds: readonly string[]): void {
    const ids = new Set(keyIds);
    this.bump(ids);
    for (const [digest, entry] of this.lru.entries()) {
      if (entry !== MISSING && entry.chainIds.some((id) => ids.has(id))) this.lru.delete(digest);
    }
  }

  clear(): void {
    this.bump('all');
    this.lru.clear();
  }

  get size(): number {
    return this.lru.size;
  }
}

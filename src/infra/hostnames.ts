import net from 'node:net';
import { Resolver } from 'node:dns/promises';
import { LRUCache } from 'lru-cache';

// Hostname entries in IP allowlists (dynamic IPs). Verification must not wait on DNS, so answers
// are cached per hostname for min(record TTL, 60 s), read synchronously, refreshed in the
// background when due, and the last good answer is kept while DNS fails.

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

/** A DNS hostname of at least two labels (letters, digits, inner hyphens), not an IP address. */
export function isHostnameEntry(text: string): boolean {
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  if (name.length === 0 || name.length > 253 || net.isIP(name) !== 0) return false;
  const labels = name.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return false;
  return !/^\d+$/.test(labels[labels.length - 1]); // an all-numeric last label is an IPv4 spelling ("10.1"), not a name
}

/** The form hostnames are stored and cached under: lower case, no trailing dot. */
export function normalizeHostname(text: string): string {
  const name = text.trim().toLowerCase();
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

export interface ResolvedRecord {
  address: string;
  /** Seconds. */
  ttl: number;
}

/** A/AAAA records of a hostname. "No such name" and "no records" are an empty answer, not an error. */
export type ResolveRecords = (hostname: string, family: 4 | 6) => Promise<ResolvedRecord[]>;

const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND']);

/** ResolveRecords over node's resolver (system DNS servers, short timeout so a refresh cannot hang). */
export function systemResolveRecords(resolver: Pick<Resolver, 'resolve4' | 'resolve6'> = new Resolver({ timeout: 2_000, tries: 2 })): ResolveRecords {
  return async (hostname, family) => {
    try {
      return family === 4 ? await resolver.resolve4(hostname, { ttl: true }) : await resolver.resolve6(hostname, { ttl: true });
    } catch (err) {
      if (NO_RECORDS.has((err as NodeJS.ErrnoException).code ?? '')) return [];
      throw err;
    }
  };
}

export interface HostnameResolverOptions {
  resolve?: ResolveRecords;
  /** Milliseconds on a monotonic clock (default performance.now). */
  now?: () => number;
  /** Longest an answer is used before a refresh: 60 s. */
  maxTtlMs?: number;
  /** Shortest, so a TTL of 0 cannot cause a refresh per request: 1 s. */
  minTtlMs?: number;
  /** Wait before asking again after a failure or an empty answer: 5 s. */
  retryMs?: number;
  /** How long past its TTL a last good answer is still served while DNS fails: 1 h. */
  maxStaleMs?: number;
  /** Hostnames kept (least recently used dropped first): 10,000. */
  maxEntries?: number;
}

/** What the cache holds per hostname: its entry's TTL says when a refresh is due. */
interface Answer {
  /** The last good answer, or null when DNS has not answered yet. */
  addresses: readonly string[] | null;
  /** Until when `addresses` may be served, DNS failing or not. */
  usableUntil: number;
  /** Why the latest query failed (kept until the next one succeeds). */
  error: unknown;
}

export class HostnameResolver {
  private readonly answers: LRUCache<string, Answer>;
  private readonly resolveRecords: ResolveRecords;
  private readonly now: () => number;
  private readonly maxTtlMs: number;
  private readonly minTtlMs: number;
  private readonly retryMs: number;
  private readonly maxStaleMs: number;

  constructor(opts: HostnameResolverOptions = {}) {
    this.resolveRecords = opts.resolve ?? systemResolveRecords();
    this.now = opts.now ?? (() => performance.now());
    this.maxTtlMs = opts.maxTtlMs ?? 60_000;
    this.minTtlMs = opts.minTtlMs ?? 1_000;
    this.retryMs = opts.retryMs ?? 5_000;
    this.maxStaleMs = opts.maxStaleMs ?? 3_600_000;
    // A failed query is not a rejection here: fetchMethod answers it with the last good addresses
    // (or the error) for retryMs, so a DNS outage costs one query per hostname every retryMs,
    // not one per verification. (lru-cache's allowStaleOnFetchRejection would keep the stale
    // entry already expired, asking DNS again at the very next read.)
    this.answers = new LRUCache<string, Answer>({
      max: opts.maxEntries ?? 10_000,
      ttl: this.maxTtlMs,
      ttlResolution: 0,
      perf: { now: this.now },
      noDeleteOnStaleGet: true,
      // A lookup whose entry was evicted while in flight still gets its answer.
      ignoreFetchAbort: true,
      fetchMethod: (name, last, { options }) => this.query(name, last, options),
    });
  }

  /**
   * The addresses `hostname` has now, without waiting: null until a first answer arrives (a
   * lookup is started). A due refresh runs in the background while the cached answer is served.
   */
  addresses(hostname: string): readonly string[] | null {
    const name = normalizeHostname(hostname);
    const answer = this.answers.get(name, { allowStale: true });
    if (answer === undefined || this.due(name)) void this.answers.fetch(name, { forceRefresh: true });
    return answer?.addresses && this.now() < answer.usableUntil ? answer.addresses : null;
  }

  /** The addresses of `hostname`, waiting for DNS when nothing usable is cached; rejects if DNS never answered. */
  async lookup(hostname: string): Promise<readonly string[]> {
    const name = normalizeHostname(hostname);
    const answer = await this.answers.fetch(name, { forceRefresh: this.due(name) });
    if (answer?.addresses && this.now() < answer.usableUntil) return answer.addresses;
    throw answer?.error ?? new Error(`no addresses for ${name}`);
  }

  /** Resolve several hostnames ahead of use (e.g. when a key is loaded); never rejects. */
  async prefetch(hostnames: readonly string[]): Promise<void> {
    await Promise.all(hostnames.map((h) => this.lookup(h).catch(() => undefined)));
  }

  /** A refresh is due once the entry's TTL has run out (lru-cache calls it stale only after). */
  private due(name: string): boolean {
    return this.answers.getRemainingTTL(name) <= 0;
  }

  /** One DNS round (A and AAAA); concurrent callers share it (lru-cache's fetch). Never rejects. */
  private async query(name: string, last: Answer | undefined, entry: { ttl?: number }): Promise<Answer> {
    try {
      const [v4, v6] = await Promise.all([this.resolveRecords(name, 4), this.resolveRecords(name, 6)]);
      const records = [...v4, ...v6];
      const ttlMs = records.length === 0 ? this.retryMs : Math.min(...records.map((r) => r.ttl)) * 1000;
      entry.ttl = Math.min(this.maxTtlMs, Math.max(this.minTtlMs, Number.isFinite(ttlMs) ? ttlMs : 0));
      const addresses = Object.freeze([...new Set(records.map((r) => r.address))]);
      return { addresses, usableUntil: this.now() + entry.ttl + this.maxStaleMs, error: null };
    } catch (err) {
      entry.ttl = this.retryMs;
      // A failed refresh keeps the last good answer while it is usable; otherwise the error stands.
      if (last?.addresses && this.now() < last.usableUntil) return { ...last, error: err };
      return { addresses: null, usableUntil: 0, error: err };
    }
  }
}

let shared: HostnameResolver | undefined;

/** The process-wide resolver: key validation and verification share its cache. */
export function sharedHostnameResolver(): HostnameResolver {
  shared ??= new HostnameResolver();
  return shared;
}

/** Test hook: a resolver with an injected DNS function. */
export function setSharedHostnameResolver(resolver: HostnameResolver | undefined): void {
  shared = resolver;
}

import net from 'node:net';
import { Resolver } from 'node:dns/promises';

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
  now?: () => number;
  /** Longest an answer is used before a refresh: 60 s. */
  maxTtlMs?: number;
  /** Shortest, so a TTL of 0 cannot cause a refresh per request: 1 s. */
  minTtlMs?: number;
  /** Wait before asking again after a failure or an empty answer: 5 s. */
  retryMs?: number;
  /** How long past its TTL a last good answer is still served while DNS fails: 1 h. */
  maxStaleMs?: number;
  /** Hostnames kept (oldest dropped first): 10,000. */
  maxEntries?: number;
}

interface Entry {
  /** The last good answer, or null before the first one. */
  addresses: readonly string[] | null;
  /** When a refresh is due. */
  refreshAt: number;
  /** Until when `addresses` may be served. */
  usableUntil: number;
  error: unknown;
  inflight: Promise<readonly string[]> | null;
}

export class HostnameResolver {
  private readonly entries = new Map<string, Entry>();
  private readonly resolveRecords: ResolveRecords;
  private readonly now: () => number;
  private readonly maxTtlMs: number;
  private readonly minTtlMs: number;
  private readonly retryMs: number;
  private readonly maxStaleMs: number;
  private readonly maxEntries: number;

  constructor(opts: HostnameResolverOptions = {}) {
    this.resolveRecords = opts.resolve ?? systemResolveRecords();
    this.now = opts.now ?? Date.now;
    this.maxTtlMs = opts.maxTtlMs ?? 60_000;
    this.minTtlMs = opts.minTtlMs ?? 1_000;
    this.retryMs = opts.retryMs ?? 5_000;
    this.maxStaleMs = opts.maxStaleMs ?? 3_600_000;
    this.maxEntries = opts.maxEntries ?? 10_000;
  }

  /**
   * The addresses `hostname` has now, without waiting: null until a first answer arrives (a
   * lookup is started). A due refresh runs in the background while the cached answer is served.
   */
  addresses(hostname: string): readonly string[] | null {
    const name = normalizeHostname(hostname);
    const entry = this.entry(name);
    const now = this.now();
    if (now >= entry.refreshAt) this.refresh(name, entry);
    return entry.addresses && now < entry.usableUntil ? entry.addresses : null;
  }

  /** The addresses of `hostname`, waiting for DNS when nothing usable is cached; rejects if DNS never answered. */
  async lookup(hostname: string): Promise<readonly string[]> {
    const name = normalizeHostname(hostname);
    const entry = this.entry(name);
    const now = this.now();
    if (now < entry.refreshAt) {
      if (entry.addresses && now < entry.usableUntil) return entry.addresses;
      if (!entry.addresses && entry.error) throw entry.error;
    }
    return this.refresh(name, entry);
  }

  /** Resolve several hostnames ahead of use (e.g. when a key is loaded); never rejects. */
  async prefetch(hostnames: readonly string[]): Promise<void> {
    await Promise.all(hostnames.map((h) => this.lookup(h).catch(() => undefined)));
  }

  private entry(name: string): Entry {
    let entry = this.entries.get(name);
    if (!entry) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      entry = { addresses: null, refreshAt: 0, usableUntil: 0, error: null, inflight: null };
      this.entries.set(name, entry);
    }
    return entry;
  }

  /** One DNS round per hostname at a time: concurrent callers share it. */
  private refresh(name: string, entry: Entry): Promise<readonly string[]> {
    if (entry.inflight) return entry.inflight;
    const run = this.query(name).then(
      (answer) => this.accept(entry, answer),
      (err) => this.reject(entry, err),
    );
    entry.inflight = run.finally(() => {
      entry.inflight = null;
    });
    entry.inflight.catch(() => undefined); // background refreshes have no one awaiting them
    return entry.inflight;
  }

  private async query(name: string): Promise<{ addresses: string[]; ttlMs: number }> {
    const [v4, v6] = await Promise.all([this.resolveRecords(name, 4), this.resolveRecords(name, 6)]);
    const records = [...v4, ...v6];
    if (records.length === 0) return { addresses: [], ttlMs: this.retryMs };
    const ttlMs = Math.min(...records.map((r) => r.ttl)) * 1000;
    return { addresses: [...new Set(records.map((r) => r.address))], ttlMs };
  }

  private accept(entry: Entry, answer: { addresses: string[]; ttlMs: number }): readonly string[] {
    const now = this.now();
    const ttl = Math.min(this.maxTtlMs, Math.max(this.minTtlMs, Number.isFinite(answer.ttlMs) ? answer.ttlMs : 0));
    entry.addresses = Object.freeze(answer.addresses);
    entry.refreshAt = now + ttl;
    entry.usableUntil = now + ttl + this.maxStaleMs;
    entry.error = null;
    return entry.addresses;
  }

  /** A failed refresh keeps the last good answer while it is usable; otherwise the error stands. */
  private reject(entry: Entry, err: unknown): readonly string[] {
    const now = this.now();
    entry.error = err;
    entry.refreshAt = now + this.retryMs;
    if (entry.addresses && now < entry.usableUntil) return entry.addresses;
    entry.addresses = null;
    throw err;
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

import { LRUCache } from 'lru-cache';

// One endpoint may hold only a few of a worker process's delivery slots, so a slow or dead
// endpoint cannot take them all. A delivery that finds its endpoint at the cap waits a moment in
// line (a fast endpoint's slot frees within milliseconds); if none frees in that moment it goes
// back to the queue for a while, and how long follows how long that endpoint holds a slot: a
// hanging one's not before its timeout. (Waiting a fixed few hundred milliseconds instead left
// fast endpoints' deliveries idling at the end of every burst.) Counted in memory: no round trip
// per delivery, nothing left held when a process dies.

export const MIN_BUSY_DELAY_MS = 10;
export const MAX_BUSY_DELAY_MS = 2000;
/** Weight of the newest hold time in the running average. */
const EWMA_WEIGHT = 0.2;

export class EndpointSlots {
  /** Start times (ms) of the deliveries each endpoint has in flight. */
  private readonly inFlight = new Map<string, number[]>();
  /** Running average of how long each endpoint held a slot. */
  private readonly holdMs = new LRUCache<string, number>({ max: 10_000 });
  /** Deliveries waiting in line for each endpoint's next free slot, first come first served. */
  private readonly waiting = new Map<string, ((release: () => void) => void)[]>();

  constructor(
    readonly perEndpoint: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!Number.isInteger(perEndpoint) || perEndpoint < 1) throw new Error(`perEndpoint must be a whole number of at least 1 (got ${perEndpoint})`);
  }

  /** Told when a slot of an endpoint frees and nobody waits in line for it (parked deliveries go next). */
  private freed?: (endpointId: string) => void;

  onFree(listener: (endpointId: string) => void): void {
    this.freed = listener;
  }

  /** A release function when the endpoint is under its cap, else null. */
  tryAcquire(endpointId: string): (() => void) | null {
    if (this.waiting.has(endpointId)) return null;
    return this.take(endpointId);
  }

  /**
   * A slot of the endpoint, waiting in line at most `maxWaitMs` for one to free: the release
   * function, or null when none freed in time (the endpoint is slow: send the delivery back).
   */
  acquire(endpointId: string, maxWaitMs: number): Promise<(() => void) | null> {
    const now = this.tryAcquire(endpointId);
    if (now || maxWaitMs <= 0) return Promise.resolve(now);
    return new Promise((resolve) => {
      const line = this.waiting.get(endpointId) ?? [];
      const grant = (release: () => void) => {
        clearTimeout(timer);
        resolve(release);
      };
      const timer = setTimeout(() => {
        const rest = this.waiting.get(endpointId);
        rest?.splice(rest.indexOf(grant), 1);
        if (rest?.length === 0) this.waiting.delete(endpointId);
        resolve(null);
      }, maxWaitMs);
      line.push(grant);
      this.waiting.set(endpointId, line);
    });
  }

  private take(endpointId: string): (() => void) | null {
    const starts = this.inFlight.get(endpointId) ?? [];
    if (starts.length >= this.perEndpoint) return null;
    const start = this.now();
    starts.push(start);
    this.inFlight.set(endpointId, starts);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const held = this.now() - start;
      const previous = this.holdMs.get(endpointId);
      this.holdMs.set(endpointId, previous === undefined ? held : previous + EWMA_WEIGHT * (held - previous));
      const list = this.inFlight.get(endpointId);
      if (!list) return;
      list.splice(list.indexOf(start), 1);
      if (list.length === 0) this.inFlight.delete(endpointId);
      // The freed slot goes to the first in line, if any.
      const line = this.waiting.get(endpointId);
      const next = line?.shift();
      if (line?.length === 0) this.waiting.delete(endpointId);
      if (next) next(this.take(endpointId)!);
      else this.freed?.(endpointId);
    };
  }

  held(endpointId: string): number {
    return this.inFlight.get(endpointId)?.length ?? 0;
  }

  /**
   * How long a delivery that found the endpoint busy should wait: about when a slot should free,
   * judged by the endpoint's usual hold time and by how long its oldest delivery has been going
   * (a hanging endpoint has no finished deliveries to average yet), spread by jitter (1x to 2x).
   */
  busyDelayMs(endpointId: string, random: () => number = Math.random): number {
    const starts = this.inFlight.get(endpointId);
    const oldest = starts?.length ? this.now() - Math.min(...starts) : 0;
    const expected = Math.max(this.holdMs.get(endpointId) ?? 0, oldest);
    const clamped = Math.min(MAX_BUSY_DELAY_MS, Math.max(MIN_BUSY_DELAY_MS, expected));
    return Math.round(clamped * (1 + random()));
  }
}

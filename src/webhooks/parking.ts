// Deliveries whose endpoint is busy (at its cap of slots in this process) wait here, per
// endpoint, instead of going back to the queue: cycling them through it cost a queue slot and a
// database read every second or two each, so one hanging endpoint with a backlog slowed every
// other endpoint's deliveries. A parked delivery is attempted when its endpoint frees a slot, so
// it waits exactly as long as that endpoint makes it wait, and nothing else does.
//
// Memory only: a process that dies loses what it parked, and the overdue sweep hands those
// deliveries over again (they are still PENDING in the database). A lot that is full answers
// false and the caller falls back to the queue.

export interface ParkedAttempt {
  deliveryId: string;
  attempt: number;
}

/** Deliveries a process keeps parked at most (a few hundred bytes each). */
export const MAX_PARKED = 50_000;

export class ParkingLot {
  /** Per endpoint, the parked attempts by delivery id, oldest first (a Map keeps insertion order). */
  private readonly lots = new Map<string, Map<string, ParkedAttempt>>();
  private parked = 0;

  constructor(private readonly max = MAX_PARKED) {}

  /** Parks the attempt behind its endpoint's others; true when parked (or already there), false when full. */
  park(endpointId: string, attempt: ParkedAttempt): boolean {
    const lot = this.lots.get(endpointId) ?? new Map<string, ParkedAttempt>();
    const known = lot.get(attempt.deliveryId);
    if (known && known.attempt >= attempt.attempt) return true;
    if (!known && this.parked >= this.max) return false;
    if (!known) this.parked++;
    lot.set(attempt.deliveryId, { deliveryId: attempt.deliveryId, attempt: attempt.attempt });
    this.lots.set(endpointId, lot);
    return true;
  }

  /** The endpoint's oldest parked attempt, taken out of the lot. */
  next(endpointId: string): ParkedAttempt | undefined {
    const lot = this.lots.get(endpointId);
    if (!lot) return undefined;
    const [first] = lot.values();
    lot.delete(first.deliveryId);
    if (lot.size === 0) this.lots.delete(endpointId);
    this.parked--;
    return first;
  }

  /** Everything parked, taken out (a worker that stops hands it back to the queue). */
  drain(): ParkedAttempt[] {
    const all = [...this.lots.values()].flatMap((lot) => [...lot.values()]);
    this.lots.clear();
    this.parked = 0;
    return all;
  }

  size(endpointId?: string): number {
    return endpointId === undefined ? this.parked : (this.lots.get(endpointId)?.size ?? 0);
  }
}

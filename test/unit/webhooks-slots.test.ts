import { EndpointSlots, MAX_BUSY_DELAY_MS, MIN_BUSY_DELAY_MS } from '../../src/webhooks/slots';

// The per-endpoint cap on a worker's delivery slots, and how long a delivery that found its
// endpoint busy waits before trying again.

function clockAt(start = 1000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('an endpoint holds at most perEndpoint slots; others are not affected; a release frees one', () => {
  const slots = new EndpointSlots(2);
  const a1 = slots.tryAcquire('a');
  const a2 = slots.tryAcquire('a');
  expect(a1).not.toBeNull();
  expect(a2).not.toBeNull();
  expect(slots.tryAcquire('a')).toBeNull();
  expect(slots.tryAcquire('b')).not.toBeNull();
  a1!();
  a1!(); // releasing twice frees one slot, not two
  expect(slots.held('a')).toBe(1);
  expect(slots.tryAcquire('a')).not.toBeNull();
  expect(slots.tryAcquire('a')).toBeNull();
});

test("a fast endpoint's busy deliveries come back within about its hold time", () => {
  const clock = clockAt();
  const slots = new EndpointSlots(1, clock.now);
  for (let i = 0; i < 20; i++) {
    const release = slots.tryAcquire('fast')!;
    clock.advance(30);
    release();
  }
  slots.tryAcquire('fast');
  expect(slots.busyDelayMs('fast', () => 0)).toBe(30);
  expect(slots.busyDelayMs('fast', () => 0.999)).toBeLessThanOrEqual(60);
});

test('a hanging endpoint, with nothing finished yet, is judged by its oldest delivery in flight', () => {
  const clock = clockAt();
  const slots = new EndpointSlots(2, clock.now);
  slots.tryAcquire('dead');
  clock.advance(500);
  slots.tryAcquire('dead');
  clock.advance(300);
  expect(slots.busyDelayMs('dead', () => 0)).toBe(800);
  clock.advance(60_000);
  expect(slots.busyDelayMs('dead', () => 0)).toBe(MAX_BUSY_DELAY_MS);
  expect(slots.busyDelayMs('dead', () => 0.5)).toBe(MAX_BUSY_DELAY_MS * 1.5);
});

test('the delay never drops below the floor, and jitter spreads it between 1x and 2x', () => {
  const clock = clockAt();
  const slots = new EndpointSlots(1, clock.now);
  slots.tryAcquire('new');
  expect(slots.busyDelayMs('new', () => 0)).toBe(MIN_BUSY_DELAY_MS);
  const seen = new Set(Array.from({ length: 50 }, () => slots.busyDelayMs('new')));
  expect(seen.size).toBeGreaterThan(3);
  for (const d of seen) {
    expect(d).toBeGreaterThanOrEqual(MIN_BUSY_DELAY_MS);
    expect(d).toBeLessThanOrEqual(2 * MIN_BUSY_DELAY_MS);
  }
});

test('perEndpoint must be a whole number of at least 1', () => {
  expect(() => new EndpointSlots(0)).toThrow(/perEndpoint/);
  expect(() => new EndpointSlots(1.5)).toThrow(/perEndpoint/);
});

test('a delivery waiting in line gets the next freed slot of its endpoint, first come first served, and no one jumps the line', async () => {
  const slots = new EndpointSlots(1);
  const first = (await slots.acquire('a', 0))!;
  const order: string[] = [];
  const second = slots.acquire('a', 5_000).then((release) => {
    order.push('second');
    return release;
  });
  const third = slots.acquire('a', 5_000).then((release) => {
    order.push('third');
    return release;
  });
  // A free-standing try while others wait in line gets nothing, even right after a release.
  expect(slots.tryAcquire('a')).toBeNull();
  first();
  expect(slots.tryAcquire('a')).toBeNull();
  const r2 = await second;
  expect(r2).not.toBeNull();
  expect(order).toEqual(['second']);
  expect(slots.held('a')).toBe(1);
  r2!();
  const r3 = await third;
  expect(order).toEqual(['second', 'third']);
  r3!();
  expect(slots.held('a')).toBe(0);
  // The line is gone once empty: a try succeeds again.
  expect(slots.tryAcquire('a')).not.toBeNull();
});

test('a delivery that waits longer than its limit gets null and leaves the line; other endpoints never wait', async () => {
  jest.useFakeTimers();
  try {
    const slots = new EndpointSlots(1);
    const held = (await slots.acquire('slow', 100))!;
    const waiting = slots.acquire('slow', 100);
    expect(await slots.acquire('other', 100)).not.toBeNull();
    jest.advanceTimersByTime(100);
    expect(await waiting).toBeNull();
    // The one that gave up is no longer in line: the freed slot stays free.
    held();
    expect(slots.held('slow')).toBe(0);
    expect(slots.tryAcquire('slow')).not.toBeNull();
    // A limit of 0 does not wait at all.
    expect(await slots.acquire('slow', 0)).toBeNull();
  } finally {
    jest.useRealTimers();
  }
});

import { HostnameResolver, isHostnameEntry, normalizeHostname, systemResolveRecords, type ResolvedRecord, type ResolveRecords } from '../../src/infra/hostnames';

describe('isHostnameEntry', () => {
  it.each<[string, boolean]>([
    ['home.example.com', true],
    ['office-1.dyn.example.net', true],
    ['EXAMPLE.ORG', true],
    ['example.com.', true],
    ['xn--bcher-kva.example', true],
    ['a.b', true],
    ['203.0.113.7', false],
    ['2001:db8::1', false],
    ['10.0.0.0/8', false],
    ['10.1', false], // legacy IPv4 spelling, not a name
    ['localhost', false], // one label: depends on search domains
    ['-bad.example.com', false],
    ['bad-.example.com', false],
    ['under_score.example.com', false],
    ['double..dot.com', false],
    ['.example.com', false],
    ['', false],
    [`${'a'.repeat(64)}.example.com`, false],
    [`${'a'.repeat(63)}.example.com`, true],
    [Array.from({ length: 64 }, () => 'abc').join('.'), false], // 255 characters
    ['space in.example.com', false],
  ])('%p -> %p', (text, expected) => {
    expect(isHostnameEntry(text)).toBe(expected);
  });

  it('normalizeHostname lower-cases and drops the trailing dot', () => {
    expect(normalizeHostname(' Home.Example.COM. ')).toBe('home.example.com');
  });
});

/** A fake DNS: answers per hostname and family, counts calls, and can hold answers until released. */
function fakeDns() {
  const answers = new Map<string, ResolvedRecord[] | Error>();
  const calls: string[] = [];
  let gate: Promise<void> | null = null;
  let open: () => void = () => undefined;
  const resolve: ResolveRecords = async (hostname, family) => {
    calls.push(`${hostname}/${family}`);
    if (gate) await gate;
    const a = answers.get(`${hostname}/${family}`) ?? [];
    if (a instanceof Error) throw a;
    return a;
  };
  return {
    resolve,
    calls,
    set(hostname: string, v4: ResolvedRecord[] | Error, v6: ResolvedRecord[] | Error = []) {
      answers.set(`${hostname}/4`, v4);
      answers.set(`${hostname}/6`, v6);
    },
    hold() {
      gate = new Promise((r) => (open = r));
    },
    release() {
      gate = null;
      open();
    },
  };
}

const settle = () => new Promise((r) => setImmediate(r));
const servfail = () => Object.assign(new Error('queryA ESERVFAIL home.example.com'), { code: 'ESERVFAIL' });

function setup() {
  const dns = fakeDns();
  let now = 1_000_000;
  const resolver = new HostnameResolver({ resolve: dns.resolve, now: () => now });
  return { dns, resolver, advance: (ms: number) => (now += ms) };
}

describe('HostnameResolver', () => {
  it('answers A and AAAA records together', async () => {
    const { dns, resolver } = setup();
    dns.set('home.example.com', [{ address: '203.0.113.7', ttl: 30 }], [{ address: '2001:db8::7', ttl: 30 }]);
    expect(await resolver.lookup('Home.Example.com.')).toEqual(['203.0.113.7', '2001:db8::7']);
    expect(resolver.addresses('home.example.com')).toEqual(['203.0.113.7', '2001:db8::7']);
    expect(dns.calls).toEqual(['home.example.com/4', 'home.example.com/6']);
  });

  it('answers nothing synchronously until the first lookup completes, then serves from cache', async () => {
    const { dns, resolver } = setup();
    dns.set('home.example.com', [{ address: '203.0.113.7', ttl: 30 }]);
    expect(resolver.addresses('home.example.com')).toBeNull();
    await settle();
    expect(resolver.addresses('home.example.com')).toEqual(['203.0.113.7']);
    expect(dns.calls).toHaveLength(2);
  });

  it.each<[string, number, number]>([
    ['caps a long TTL at 60 s', 3600, 60_000],
    ['keeps a shorter TTL', 10, 10_000],
    ['uses the shortest record TTL', 25, 25_000],
    ['raises a zero TTL to 1 s', 0, 1_000],
  ])('%s', async (_name, ttl, cachedForMs) => {
    const { dns, resolver, advance } = setup();
    dns.set('home.example.com', [
      { address: '203.0.113.7', ttl: Math.max(ttl, 0) },
      { address: '203.0.113.8', ttl: ttl + 100 },
    ]);
    await resolver.lookup('home.example.com');
    advance(cachedForMs - 1);
    resolver.addresses('home.example.com');
    await settle();
    expect(dns.calls).toHaveLength(2); // still cached
    advance(1);
    resolver.addresses('home.example.com');
    await settle();
    expect(dns.calls).toHaveLength(4); // refreshed
  });

  it('refreshes in the background, serving the cached answer meanwhile, and picks up a changed address', async () => {
    const { dns, resolver, advance } = setup();
    dns.set('home.example.com', [{ address: '203.0.113.7', ttl: 60 }]);
    await resolver.lookup('home.example.com');
    dns.set('home.example.com', [{ address: '198.51.100.9', ttl: 60 }]);
    advance(60_000);
    dns.hold();
    expect(resolver.addresses('home.example.com')).toEqual(['203.0.113.7']);
    dns.release();
    await settle();
    expect(resolver.addresses('home.example.com')).toEqual(['198.51.100.9']);
  });

  it('serves the last good answer when a refresh fails, and retries later', async () => {
    const { dns, resolver, advance } = setup();
    dns.set('home.example.com', [{ address: '203.0.113.7', ttl: 60 }]);
    await resolver.lookup('home.example.com');
    dns.set('home.example.com', servfail());
    advance(61_000);
    expect(resolver.addresses('home.example.com')).toEqual(['203.0.113.7']);
    await settle();
    expect(resolver.addresses('home.example.com')).toEqual(['203.0.113.7']);
    expect(await resolver.lookup('home.example.com')).toEqual(['203.0.113.7']);
    expect(dns.calls).toHaveLength(4); // no new query before the retry delay
    dns.set('home.example.com', [{ address: '198.51.100.9', ttl: 60 }]);
    advance(5_000);
    expect(await resolver.lookup('home.example.com')).toEqual(['198.51.100.9']);
  });

  it('stops serving a stale answer after maxStaleMs of failures', async () => {
    const dns = fakeDns();
    // A monotonic clock (lru-cache, under the resolver, reads a start of 0 as "no TTL").
    let now = 1_000_000;
    const resolver = new HostnameResolver({ resolve: dns.resolve, now: () => now, maxStaleMs: 120_000 });
    dns.set('home.example.com', [{ address: '203.0.113.7', ttl: 60 }]);
    await resolver.lookup('home.example.com');
    dns.set('home.example.com', servfail());
    now = 1_179_000;
    expect(resolver.addresses('home.example.com')).toEqual(['203.0.113.7']);
    await settle();
    now = 1_180_000;
    expect(resolver.addresses('home.example.com')).toBeNull();
    await expect(resolver.lookup('home.example.com')).rejects.toThrow('ESERVFAIL');
  });

  it('a first lookup that fails rejects, is remembered for the retry delay, and causes no unhandled rejection', async () => {
    const { dns, resolver, advance } = setup();
    dns.set('home.example.com', servfail());
    expect(resolver.addresses('home.example.com')).toBeNull(); // background lookup fails unobserved
    await settle();
    await expect(resolver.lookup('home.example.com')).rejects.toThrow('ESERVFAIL');
    expect(dns.calls).toHaveLength(2);
    advance(5_000);
    dns.set('home.example.com', [{ address: '203.0.113.7', ttl: 60 }]);
    expect(await resolver.lookup('home.example.com')).toEqual(['203.0.113.7']);
  });

  it('an empty answer (no such name) is an empty list, asked again after the retry delay', async () => {
    const { dns, resolver, advance } = setup();
    expect(await resolver.lookup('gone.example.com')).toEqual([]);
    advance(4_999);
    expect(resolver.addresses('gone.example.com')).toEqual([]);
    await settle();
    expect(dns.calls).toHaveLength(2);
    advance(1);
    resolver.addresses('gone.example.com');
    await settle();
    expect(dns.calls).toHaveLength(4);
  });

  it('coalesces concurrent lookups of one hostname into one DNS query per family', async () => {
    const { dns, resolver } = setup();
    dns.set('home.example.com', [{ address: '203.0.113.7', ttl: 60 }]);
    dns.hold();
    const pending = [resolver.lookup('home.example.com'), resolver.lookup('HOME.example.com'), resolver.lookup('home.example.com.')];
    expect(resolver.addresses('home.example.com')).toBeNull();
    dns.release();
    const results = await Promise.all(pending);
    expect(results).toEqual([['203.0.113.7'], ['203.0.113.7'], ['203.0.113.7']]);
    expect(dns.calls).toEqual(['home.example.com/4', 'home.example.com/6']);
  });

  it('prefetch resolves several hostnames and never rejects', async () => {
    const { dns, resolver } = setup();
    dns.set('a.example.com', [{ address: '203.0.113.1', ttl: 60 }]);
    dns.set('b.example.com', servfail());
    await expect(resolver.prefetch(['a.example.com', 'b.example.com'])).resolves.toBeUndefined();
    expect(resolver.addresses('a.example.com')).toEqual(['203.0.113.1']);
    expect(resolver.addresses('b.example.com')).toBeNull();
  });

  it('a lookup whose hostname is dropped while DNS answers still gets the answer', async () => {
    const dns = fakeDns();
    const resolver = new HostnameResolver({ resolve: dns.resolve, maxEntries: 1 });
    dns.set('a.example.com', [{ address: '203.0.113.1', ttl: 60 }]);
    dns.hold();
    const first = resolver.lookup('a.example.com');
    const second = resolver.lookup('b.example.com'); // pushes a.example.com out
    dns.release();
    await expect(first).resolves.toEqual(['203.0.113.1']);
    await expect(second).resolves.toEqual([]);
  });

  it('drops the oldest hostname beyond maxEntries', async () => {
    const dns = fakeDns();
    const resolver = new HostnameResolver({ resolve: dns.resolve, maxEntries: 2 });
    await resolver.prefetch(['a.example.com', 'b.example.com', 'c.example.com']);
    expect(dns.calls).toHaveLength(6);
    await resolver.lookup('c.example.com');
    expect(dns.calls).toHaveLength(6);
    await resolver.lookup('a.example.com');
    expect(dns.calls).toHaveLength(8);
  });
});

describe('systemResolveRecords', () => {
  const err = (code: string) => Object.assign(new Error(code), { code });

  it('asks for TTLs and maps "no records" and "no such name" to an empty answer', async () => {
    const seen: unknown[] = [];
    const resolve = systemResolveRecords({
      resolve4: (async (host: string, opts: unknown) => {
        seen.push([host, opts]);
        if (host === 'none.example.com') throw err('ENOTFOUND');
        return [{ address: '203.0.113.7', ttl: 42 }];
      }) as never,
      resolve6: (async () => {
        throw err('ENODATA');
      }) as never,
    });
    expect(await resolve('home.example.com', 4)).toEqual([{ address: '203.0.113.7', ttl: 42 }]);
    expect(seen).toEqual([['home.example.com', { ttl: true }]]);
    expect(await resolve('home.example.com', 6)).toEqual([]);
    expect(await resolve('none.example.com', 4)).toEqual([]);
  });

  it('passes other failures on', async () => {
    const resolve = systemResolveRecords({
      resolve4: (async () => {
        throw err('ETIMEOUT');
      }) as never,
      resolve6: (async () => []) as never,
    });
    await expect(resolve('home.example.com', 4)).rejects.toThrow('ETIMEOUT');
  });
});

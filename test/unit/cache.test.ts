import { KeyCache } from '../../src/keys/cache';
import type { ResolvedKey } from '../../src/keys/resolve';

// The verify cache keeps a load that raced an invalidation only when the invalidation did not
// touch the loaded key's chain.

function deferredLoader() {
  const calls: { digest: string; resolve: (k: ResolvedKey | null) => void }[] = [];
  const load = (digest: string) => new Promise<ResolvedKey | null>((resolve) => calls.push({ digest, resolve }));
  return { calls, load };
}
const key = (id: string, chain: string[] = [id]) => ({ id, chainIds: chain }) as unknown as ResolvedKey;

test.each([
  { label: 'an unrelated invalidation', change: (c: KeyCache) => c.invalidate(['other']), loads: 1 },
  { label: 'an invalidation of the key itself', change: (c: KeyCache) => c.invalidate(['k1']), loads: 2 },
  { label: 'an invalidation of an ancestor', change: (c: KeyCache) => c.invalidate(['parent']), loads: 2 },
  { label: 'a clear', change: (c: KeyCache) => c.clear(), loads: 2 },
])('$label during a load: two lookups cost $loads load(s)', async ({ change, loads: expectedLoads }) => {
  const { calls, load } = deferredLoader();
  const cache = new KeyCache(load);
  const first = cache.get('d1');
  change(cache);
  calls[0].resolve(key('k1', ['k1', 'parent']));
  expect((await first)?.id).toBe('k1');
  const second = cache.get('d1');
  if (calls.length > 1) calls[1].resolve(key('k1', ['k1', 'parent']));
  await second;
  expect(calls).toHaveLength(expectedLoads);
});

test('concurrent lookups of one digest share one load', async () => {
  const { calls, load } = deferredLoader();
  const cache = new KeyCache(load);
  const a = cache.get('d');
  const b = cache.get('d');
  calls[0].resolve(key('k'));
  expect([(await a)?.id, (await b)?.id]).toEqual(['k', 'k']);
  expect(calls).toHaveLength(1);
});

test('invalidating a key drops every cached entry whose chain includes it', async () => {
  const { calls, load } = deferredLoader();
  const cache = new KeyCache(load);
  const child = cache.get('child');
  calls[0].resolve(key('c', ['c', 'p']));
  await child;
  const other = cache.get('other');
  calls[1].resolve(key('o', ['o']));
  await other;
  cache.invalidate(['p']);
  expect(cache.size).toBe(1);
});

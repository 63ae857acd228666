import client from 'prom-client';

// Prometheus metrics (GET /metrics). One registry per process; counters on the hot path are a
// few hundred nanoseconds each.

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: 'keywarden_' });

export const verifyDecisions = new client.Counter({
  name: 'keywarden_verify_decisions_total',
  help: 'Verification decisions by code and entry point (verify endpoint or gateway).',
  labelNames: ['code', 'via'] as const,
  registers: [registry],
});

export const verifyDuration = new client.Histogram({
  name: 'keywarden_verify_duration_seconds',
  help: 'Time spent deciding one verification (cache, policy, limits), without HTTP.',
  buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
  registers: [registry],
});

export const keyCacheLookups = new client.Counter({
  name: 'keywarden_key_cache_lookups_total',
  help: 'Verify cache lookups by result (hit or miss); the hit ratio is hit / (hit + miss).',
  labelNames: ['result'] as const,
  registers: [registry],
});

export const gatewayUpstream = new client.Histogram({
  name: 'keywarden_gateway_upstream_duration_seconds',
  help: 'Gateway requests by upstream status class, from verification to the last response byte.',
  labelNames: ['status'] as const,
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
  registers: [registry],
});

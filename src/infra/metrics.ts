import client from 'prom-client';

// Prometheus metrics (GET /metrics). One registry per process; counters on the hot path are a
// few hundred nanoseconds each.

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: 'keywarden_' });

export const verifyDecisions = new client.Counter({
  name: 'keywarden_verify_decisions_total',
  help: 'Verification decisions by code and entry point (verify endpoint, gateway, forward auth, ext_authz).',
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

export const webhookAttempts = new client.Counter({
  name: 'keywarden_webhook_attempts_total',
  help: 'Webhook delivery attempts by outcome (succeeded, retry, gone, failed), in this process.',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const webhookAttemptDuration = new client.Histogram({
  name: 'keywarden_webhook_attempt_duration_seconds',
  help: 'Duration of one webhook delivery attempt (connect to last response byte).',
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
  registers: [registry],
});

let queueCounts: (() => Promise<Record<string, Record<string, number>>>) | undefined;

/** The process that serves /metrics tells how to read queue depths (they live in Redis). */
export function setQueueCounts(fn: typeof queueCounts): void {
  queueCounts = fn;
}

new client.Gauge({
  name: 'keywarden_queue_jobs',
  help: 'Jobs per queue and state (shared by every instance: read from Redis when scraped).',
  labelNames: ['queue', 'state'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    if (!queueCounts) return;
    try {
      for (const [queue, states] of Object.entries(await queueCounts())) {
        for (const [state, n] of Object.entries(states)) this.set({ queue, state }, n);
      }
    } catch {
      // Redis unreachable: the gauge stays empty for this scrape.
    }
  },
});

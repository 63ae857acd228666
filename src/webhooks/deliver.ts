import type { Database, Tx } from '../infra/db';
import { recordSecurityEvent } from '../audit/security';
import { clock } from '../infra/clock';
import { webhookBody } from '../events/outbox';
import type { DeliveryJob } from '../events/relay';
import { postWebhook, type PostResult } from './post';
import { classifyStatus, nextRetryDelay, parseRetryAfter } from './retry';
import { webhookAttemptDuration, webhookAttempts } from '../infra/metrics';
import { webhookRuntime } from './runtime';
import { signingSecret } from './secrets';
import { loadDeliveries, recordSuccesses, type DeliveryBatches, type LoadedEndpoint } from './batches';
import { signWebhook } from './signing';
import type { EndpointSlots } from './slots';
import type { SemaphoreInterface } from 'async-mutex';

// One delivery attempt, start to finish: load, sign, POST, record. The queue only decides when
// this runs; everything that must survive a crash is in PostgreSQL. Attempt n is recorded only
// over attemptCount n - 1, so a job that runs twice (a worker died mid-attempt and its job was
// taken over) records once; the receiver may see the message twice, with the same webhook-id.

/** Five days of nothing but failures disable an endpoint (README: webhooks). */
const DISABLE_AFTER_FAILING_MS = 5 * 86_400_000;

export interface DeliverySettings {
  /** Groups the reads and the success records of deliveries attempted together (batches.ts). */
  batches?: DeliveryBatches;
  retrySchedule: readonly number[];
  timeoutMs: number;
  /** Caps one endpoint's share of the workers, so a slow endpoint cannot hold them all. */
  slots?: Pick<EndpointSlots, 'acquire'>;
  /** How long a delivery may wait in line for its endpoint's slot before it counts as busy (default: not at all). */
  endpointWaitMs?: number;
  /** Caps the POSTs in flight in this process, when more deliveries than that are under way at once. */
  posts?: Pick<SemaphoreInterface, 'acquire'>;
  random?: () => number;
}

export type AttemptResult = { kind: 'skipped'; reason: string } | { kind: 'busy'; endpointId: string } | { kind: 'succeeded' } | { kind: 'retry'; next: DeliveryJob } | { kind: 'failed'; reason: string };

export async function attemptDelivery(db: Database, job: Pick<DeliveryJob, 'deliveryId' | 'attempt'>, settings: DeliverySettings): Promise<AttemptResult> {
  const delivery = settings.batches ? await settings.batches.load.load(job.deliveryId) : ((await loadDeliveries(db, [job.deliveryId]))[0] ?? null);
  if (!delivery) return { kind: 'skipped', reason: 'delivery no longer exists' };
  if (delivery.status !== 'PENDING') return { kind: 'skipped', reason: `delivery is ${delivery.status}` };
  if (delivery.attemptCount + 1 !== job.attempt) return { kind: 'skipped', reason: `attempt ${job.attempt} is stale (${delivery.attemptCount} recorded)` };
  const { endpoint, event } = delivery;
  if (!endpoint.enabled) {
    await db.prisma.webhookDelivery.updateMany({ where: { id: delivery.id, status: 'PENDING', attemptCount: delivery.attemptCount }, data: { status: 'FAILED', nextAttemptAt: null } });
    return { kind: 'failed', reason: 'endpoint is disabled' };
  }
  const release = settings.slots ? await settings.slots.acquire(endpoint.id, settings.endpointWaitMs ?? 0) : () => {};
  if (!release) return { kind: 'busy', endpointId: endpoint.id };
  const [, releasePost] = settings.posts ? await settings.posts.acquire() : [0, () => {}];

  const attemptedAt = clock.now();
  let result: PostResult;
  try {
    const secrets = signingSecrets(endpoint, attemptedAt);
    const body = JSON.stringify(webhookBody(event));
    // The timestamp is this attempt's: receivers reject messages signed too long ago.
    const headers = signWebhook(secrets, event.id, attemptedAt, body);
    const { policy, resolve } = webhookRuntime();
    result = await postWebhook({ url: endpoint.url, headers: { ...headers }, body, timeoutMs: settings.timeoutMs, policy, resolve });
  } catch (err) {
    result = { statusCode: null, durationMs: 0, error: `not sent: ${(err as Error).message}`, responseExcerpt: null, retryAfter: undefined };
  } finally {
    releasePost();
    release();
  }
  return recordAttempt(db, delivery, endpoint, job.attempt, attemptedAt, result, settings);
}

function signingSecrets(endpoint: LoadedEndpoint, now: Date): string[] {
  const secrets = [signingSecret(endpoint.secretCiphertext, endpoint.id)];
  if (endpoint.previousSecretCiphertext && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now) {
    secrets.push(signingSecret(endpoint.previousSecretCiphertext, endpoint.id));
  }
  return secrets;
}

async function recordAttempt(
  db: Database,
  delivery: { id: string; accountId: string; retryIndex: number },
  endpoint: LoadedEndpoint,
  attempt: number,
  attemptedAt: Date,
  result: PostResult,
  settings: DeliverySettings,
): Promise<AttemptResult> {
  const outcome = result.statusCode === null ? 'failed' : classifyStatus(result.statusCode);
  webhookAttempts.labels(outcome).inc();
  if (result.statusCode !== null) webhookAttemptDuration.observe(result.durationMs / 1000);
  if (outcome === 'succeeded') {
    const record = { deliveryId: delivery.id, endpointId: endpoint.id, attempt, attemptedAt, statusCode: result.statusCode!, durationMs: result.durationMs, responseExcerpt: result.responseExcerpt };
    const claimed = settings.batches ? await settings.batches.recordSuccess.load(record) : (await recordSuccesses(db, [record])).has(delivery.id);
    return claimed ? { kind: 'succeeded' } : { kind: 'skipped', reason: `attempt ${attempt} was recorded by another worker` };
  }
  return db.prisma.$transaction(async (tx) => {
    const now = clock.now();
    const claimed = await tx.webhookDelivery.updateMany({ where: { id: delivery.id, status: 'PENDING', attemptCount: attempt - 1 }, data: { attemptCount: attempt } });
    if (claimed.count === 0) return { kind: 'skipped', reason: `attempt ${attempt} was recorded by another worker` } as const;
    await tx.webhookAttempt.create({
      data: {
        deliveryId: delivery.id,
        number: attempt,
        attemptedAt,
        statusCode: result.statusCode,
        durationMs: result.durationMs,
        error: result.error ?? `HTTP ${result.statusCode}`,
        responseExcerpt: result.responseExcerpt,
      },
    });
    const finish = (status: 'FAILED') => tx.webhookDelivery.update({ where: { id: delivery.id }, data: { status, nextAttemptAt: null, deliveredAt: null } });

    if (outcome === 'gone') {
      await finish('FAILED');
      await disableEndpoint(tx, endpoint, 'the endpoint answered 410 Gone', now);
      return { kind: 'failed', reason: '410 Gone' } as const;
    }
    await tx.webhookEndpoint.updateMany({ where: { id: endpoint.id, failingSince: null }, data: { failingSince: now } });
    const failingSince = endpoint.failingSince ?? now;
    if (now.getTime() - failingSince.getTime() >= DISABLE_AFTER_FAILING_MS) {
      await finish('FAILED');
      await disableEndpoint(tx, endpoint, `every delivery failed since ${failingSince.toISOString()}`, now);
      return { kind: 'failed', reason: 'endpoint failing for 5 days' } as const;
    }
    const delayMs = nextRetryDelay(delivery.retryIndex, settings.retrySchedule, parseRetryAfter(result.retryAfter, now.getTime()), settings.random);
    if (delayMs === null) {
      await finish('FAILED');
      return { kind: 'failed', reason: 'retry schedule used up' } as const;
    }
    await tx.webhookDelivery.update({ where: { id: delivery.id }, data: { retryIndex: delivery.retryIndex + 1, nextAttemptAt: new Date(now.getTime() + delayMs), enqueuedAt: now } });
    return { kind: 'retry', next: { deliveryId: delivery.id, attempt: attempt + 1, delayMs } } as const;
  });
}

/** Once per disabling (a concurrent attempt finds it disabled already): ENDPOINT_DISABLED, which is also sent as security.alert to the account's other endpoints. */
async function disableEndpoint(tx: Tx, endpoint: LoadedEndpoint, reason: string, now: Date): Promise<void> {
  const { count } = await tx.webhookEndpoint.updateMany({ where: { id: endpoint.id, enabled: true }, data: { enabled: false, disabledReason: reason, disabledAt: now } });
  if (count === 1) {
    await recordSecurityEvent(tx, { accountId: endpoint.accountId, kind: 'ENDPOINT_DISABLED', details: { endpointId: endpoint.id, url: endpoint.url, reason } });
  }
}

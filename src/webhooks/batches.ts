import crypto from 'node:crypto';
import DataLoader from 'dataloader';
import type { Database } from '../infra/db';
import type { OutboxEvent, WebhookDelivery, WebhookEndpoint } from '../generated/prisma/client';
import { clock } from '../infra/clock';

// A busy worker starts and finishes many deliveries within a few milliseconds of each other.
// Reading them, and recording the successful ones, in one statement per such group rather than
// several per delivery is what lets delivery keep pace with the HTTP: database round trips, not
// the POSTs, were the bottleneck. Each group waits at most WINDOW_MS to form. Neither batch is a
// cache: every attempt reads current rows, and a recording commits before its job completes.

const WINDOW_MS = 1;
const schedule = { cache: false, maxBatchSize: 100, batchScheduleFn: (run: () => void) => setTimeout(run, WINDOW_MS) } as const;

// The columns an attempt uses, named once: the statement selects them under these prefixes and
// the rows are split back into the shape findMany with include and select would give. (Reading
// every column of the three rows cost a few per cent of a delivery's CPU for nothing.)
const COLUMNS = {
  d: ['id', 'accountId', 'status', 'attemptCount', 'retryIndex'],
  e: ['id', 'type', 'data', 'createdAt'],
  w: ['id', 'accountId', 'url', 'enabled', 'secretCiphertext', 'previousSecretCiphertext', 'previousSecretExpiresAt', 'failingSince'],
} as const satisfies { d: readonly (keyof WebhookDelivery)[]; e: readonly (keyof OutboxEvent)[]; w: readonly (keyof WebhookEndpoint)[] };

export type LoadedEndpoint = Pick<WebhookEndpoint, (typeof COLUMNS.w)[number]>;
export type LoadedDelivery = Pick<WebhookDelivery, (typeof COLUMNS.d)[number]> & { event: Pick<OutboxEvent, (typeof COLUMNS.e)[number]>; endpoint: LoadedEndpoint };

/** What loadDeliveries reads, as a Prisma select (the test compares the two). */
export const LOADED_SELECT = {
  ...Object.fromEntries(COLUMNS.d.map((c) => [c, true])),
  event: { select: Object.fromEntries(COLUMNS.e.map((c) => [c, true])) },
  endpoint: { select: Object.fromEntries(COLUMNS.w.map((c) => [c, true])) },
};

const LOAD = {
  name: 'webhook-deliveries-load',
  text: `SELECT ${(Object.entries(COLUMNS) as [string, readonly string[]][]).flatMap(([t, cols]) => cols.map((c) => `${t}."${c}" AS "${t}.${c}"`)).join(', ')}
           FROM "WebhookDelivery" d
           JOIN "OutboxEvent" e ON e."id" = d."eventId"
           JOIN "WebhookEndpoint" w ON w."id" = d."endpointId"
          WHERE d."id" = ANY($1::uuid[])`,
};

/**
 * The deliveries with their event and endpoint, in one statement: findMany with include sends
 * three and spends more CPU compiling and assembling them than the database spends answering.
 */
export async function loadDeliveries(db: Database, ids: readonly string[]): Promise<LoadedDelivery[]> {
  if (ids.length === 0) return [];
  const rows = await db.sql(LOAD, [ids]);
  return rows.map((r) => ({ ...pick(r, 'd', COLUMNS.d), event: pick(r, 'e', COLUMNS.e), endpoint: pick(r, 'w', COLUMNS.w) }) as LoadedDelivery);
}

function pick(row: Record<string, unknown>, table: string, columns: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of columns) out[c] = row[`${table}.${c}`];
  return out;
}

export interface SuccessRecord {
  deliveryId: string;
  endpointId: string;
  attempt: number;
  attemptedAt: Date;
  statusCode: number;
  durationMs: number;
  responseExcerpt: string | null;
}

/**
 * In one statement, atomic on its own: claim attempt n of each delivery (only over attemptCount
 * n - 1, so an attempt is recorded once however many workers ran it), record the attempts, mark
 * the deliveries SUCCEEDED and end their endpoints' failure streaks. Returns the claimed ids.
 * Timestamps go in as UTC instants and are stored as UTC, as Prisma stores them.
 */
export async function recordSuccesses(db: Database, records: readonly SuccessRecord[]): Promise<Set<string>> {
  const col = <T>(f: (r: SuccessRecord) => T) => records.map(f);
  const rows = await db.sql<{ id: string }>(RECORD, [
    col((r) => r.deliveryId),
    col((r) => r.endpointId),
    col((r) => r.attempt),
    col(() => crypto.randomUUID()),
    col((r) => r.attemptedAt.toISOString()),
    col((r) => r.statusCode),
    col((r) => r.durationMs),
    col((r) => r.responseExcerpt),
    clock.now().toISOString(),
  ]);
  return new Set(rows.map((r) => r.id));
}

const RECORD = {
  name: 'webhook-deliveries-record-successes',
  text: `
    WITH input AS (
      SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::uuid[], $5::timestamptz[], $6::int[], $7::int[], $8::text[])
        AS i("deliveryId", "endpointId", "number", "attemptId", "attemptedAt", "statusCode", "durationMs", "excerpt")
    ), claimed AS (
      UPDATE "WebhookDelivery" d
         SET "attemptCount" = i."number", "status" = 'SUCCEEDED', "nextAttemptAt" = NULL, "deliveredAt" = ($9::timestamptz AT TIME ZONE 'UTC')
        FROM input i
       WHERE d."id" = i."deliveryId" AND d."status" = 'PENDING' AND d."attemptCount" = i."number" - 1
      RETURNING d."id"
    ), recorded AS (
      INSERT INTO "WebhookAttempt" ("id", "deliveryId", "number", "attemptedAt", "statusCode", "durationMs", "error", "responseExcerpt")
      SELECT i."attemptId", i."deliveryId", i."number", (i."attemptedAt" AT TIME ZONE 'UTC'), i."statusCode", i."durationMs", NULL, i."excerpt"
        FROM input i JOIN claimed c ON c."id" = i."deliveryId"
    ), healed AS (
      UPDATE "WebhookEndpoint" e SET "failingSince" = NULL, "updatedAt" = ($9::timestamptz AT TIME ZONE 'UTC')
       WHERE e."failingSince" IS NOT NULL AND e."id" IN (SELECT i."endpointId" FROM input i JOIN claimed c ON c."id" = i."deliveryId")
    )
    SELECT "id"::text AS "id" FROM claimed`,
};

export interface DeliveryBatches {
  load: DataLoader<string, LoadedDelivery | null>;
  recordSuccess: DataLoader<SuccessRecord, boolean>;
}

export function createDeliveryBatches(db: Database): DeliveryBatches {
  return {
    load: new DataLoader(async (ids) => {
      const rows = new Map((await loadDeliveries(db, ids)).map((d) => [d.id, d]));
      return ids.map((id) => rows.get(id) ?? null);
    }, schedule),
    recordSuccess: new DataLoader(async (records) => {
      const claimed = await recordSuccesses(db, records);
      return records.map((r) => claimed.has(r.deliveryId));
    }, schedule),
  };
}

import { Client } from 'pg';
import type { Database } from '../src/infra/db';
import { logger } from '../src/infra/logger';
import { OUTBOX_CHANNEL, outboxWrites } from '../src/events/outbox';
import { relayOutbox, type Enqueue, type PublishRelayed } from '../src/events/relay';

// Runs the outbox relay right after commit. On PostgreSQL it LISTENs on the channel the outbox
// trigger notifies at commit, so events written by any process (an API-only instance included)
// are relayed within milliseconds. The embedded store has no second connection to listen on; the
// relay then follows this process's own writes, retrying briefly since it hears of a write before
// its transaction commits. Either way the periodic sweep (scheduled scans) catches anything missed.

const EMBEDDED_FOLLOW_UP_MS = [10, 100, 500, 2000];
const MAX_RECONNECT_MS = 30_000;

export class RelayRunner {
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private client: Client | null = null;
  private timers = new Set<NodeJS.Timeout>();
  private reconnectMs = 500;
  private readonly onWrite = () => {
    for (const ms of EMBEDDED_FOLLOW_UP_MS) this.after(ms);
  };

  constructor(
    private readonly db: Database,
    private readonly enqueue: Enqueue,
    private readonly databaseUrl: string | undefined,
    /** Live updates for GraphQL subscriptions; it must not throw. */
    private readonly publish?: PublishRelayed,
  ) {}

  async start(): Promise<void> {
    if (this.databaseUrl) await this.listen();
    else outboxWrites.on('written', this.onWrite);
    this.trigger();
  }

  /** Relays now, or once more right after the run in progress: concurrent triggers coalesce. */
  trigger(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await relayOutbox(this.db, this.enqueue, undefined, this.publish);
        } while (this.again && !this.stopped);
      } catch (err) {
        logger.error({ err }, 'outbox relay failed; the periodic sweep will retry');
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    outboxWrites.off('written', this.onWrite);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
    await this.running;
  }

  private after(ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.trigger();
    }, ms);
    this.timers.add(t);
  }

  private async listen(): Promise<void> {
    const client = new Client({ connectionString: this.databaseUrl });
    client.on('notification', () => void this.trigger());
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
    } catch (err) {
      client.end().catch(() => {});
      throw err;
    }
    this.client = client;
  }

  private lost(client: Client, err?: Error): void {
    if (this.stopped || this.client !== client) return;
    logger.warn({ err: err?.message }, 'outbox LISTEN connection lost; reconnecting');
    this.client = null;
    client.end().catch(() => {});
    this.relisten();
  }

  private relisten(): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.stopped) return;
      this.listen().then(
        () => {
          this.reconnectMs = 500;
          // Notifications sent while disconnected are lost: relay whatever is waiting.
          void this.trigger();
        },
        (err) => {
          logger.warn({ err: (err as Error).message }, 'outbox LISTEN reconnect failed');
          this.reconnectMs = Math.min(this.reconnectMs * 2, MAX_RECONNECT_MS);
          this.relisten();
        },
      );
    }, this.reconnectMs);
    this.timers.add(t);
  }
}

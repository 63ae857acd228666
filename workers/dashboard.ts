import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { authenticate, type KeyLookup } from '../src/keys/authenticate';
import { sendJson } from '../src/infra/http';
import { openQueues, queueConnection } from './queues';

// The operators' queue dashboard (bull-board) under /admin/queues, for master keys only.
// Scripts send "Authorization: Bearer <master key>"; a browser cannot add that header to the
// page's own asset requests, so Basic auth with the master key as password is accepted as well
// (the browser asks for it once and repeats it).

const DASHBOARD_PATH = '/admin/queues';

export interface QueueDashboard {
  handle(req: IncomingMessage, res: ServerResponse, keys: KeyLookup): void;
  /** Jobs per queue and state (waiting, active, delayed, failed), for the metrics. */
  counts(): Promise<Record<string, Record<string, number>>>;
  close(): Promise<void>;
}

function bearerOf(header: string | undefined): string | null {
  if (!header) return null;
  const basic = /^Basic\s+(\S+)\s*$/i.exec(header);
  if (!basic) return header;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  return `Bearer ${decoded.slice(decoded.indexOf(':') + 1)}`;
}

function refuse(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { error: { code: status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN', message } }, { 'www-authenticate': 'Bearer, Basic realm="Keywarden queues", charset="UTF-8"' });
}

export function createQueueDashboard(opts: { redisUrl: string; redisPrefix: string }): QueueDashboard {
  const connection = queueConnection(opts.redisUrl, 'dashboard');
  const queues = openQueues(connection, opts.redisPrefix);
  const adapter = new ExpressAdapter().setBasePath(DASHBOARD_PATH);
  createBullBoard({ queues: Object.values(queues).map((q) => new BullMQAdapter(q)), serverAdapter: adapter });
  const app = adapter.getRouter() as (req: IncomingMessage, res: ServerResponse) => void;

  return {
    handle(req, res, keys) {
      const ip = req.socket.remoteAddress ?? null;
      authenticate(keys, bearerOf(req.headers.authorization), ip).then(
        (auth) => {
          if (!auth.ok) return refuse(res, 401, auth.reason);
          if (!auth.actor.master) return refuse(res, 403, 'the queue dashboard is for master keys');
          // The board routes from its own root; its links already carry DASHBOARD_PATH.
          req.url = (req.url ?? '/').slice(DASHBOARD_PATH.length) || '/';
          app(req, res);
        },
        () => refuse(res, 401, 'could not check the key'),
      );
    },
    async counts() {
      const out: Record<string, Record<string, number>> = {};
      for (const q of Object.values(queues)) out[q.name] = await q.getJobCounts('waiting', 'active', 'delayed', 'failed');
      return out;
    },
    async close() {
      await Promise.all(Object.values(queues).map((q) => q.close()));
      connection.disconnect();
    },
  };
}

import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { authenticate, type KeyLookup } from '../src/keys/authenticate';
import { sendJson } from '../src/infra/http';
import { logger } from '../src/infra/logger';
import { parseSecret } from '../src/keys/secret';
import type { RedisTarget } from '../src/infra/redis';
import { openQueues, queueConnection } from './queues';

// The installation's queue dashboard (bull-board) under /admin/queues. Its queues are shared by
// every account (their jobs carry every account's deliveries), so no account's key opens it, a
// master key included: only the installation's ADMIN_QUEUES_TOKEN does, as
// "Authorization: Bearer <token>" from scripts or as the Basic auth password from a browser
// (which cannot add a header to the page's own asset requests). Read-only unless
// ADMIN_QUEUES_WRITE is on; every action (anything but GET/HEAD) is written to the audit log
// line "queue dashboard action", allowed or not.

const DASHBOARD_PATH = '/admin/queues';

export interface QueueDashboard {
  handle(req: IncomingMessage, res: ServerResponse, keys: KeyLookup): void;
  /** Jobs per queue and state (waiting, active, delayed, failed), for the metrics. */
  counts(): Promise<Record<string, Record<string, number>>>;
  close(): Promise<void>;
}

export interface QueueDashboardOptions {
  redisUrl: string;
  /** REDIS_CLUSTER_NODES / REDIS_SENTINELS: where the queues live when not at redisUrl. */
  redis?: RedisTarget;
  redisPrefix: string;
  /** ADMIN_QUEUES_TOKEN: the installation's credential; unset, the dashboard is closed. */
  token?: string;
  /** ADMIN_QUEUES_WRITE: retry, promote, clean, pause, empty and obliterate are allowed. */
  writable?: boolean;
}

/** The credential sent: a Bearer token, or the password of Basic auth. */
function credentialOf(header: string | undefined): string | null {
  if (!header) return null;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^Basic\s+(\S+)\s*$/i.exec(header);
  if (!basic) return null;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  return decoded.slice(decoded.indexOf(':') + 1);
}

const digest = (text: string) => crypto.createHash('sha256').update(text).digest();

function refuse(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { error: { code: status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN', message } }, { 'www-authenticate': 'Bearer, Basic realm="Keywarden queues", charset="UTF-8"' });
}

/** One audit line per action, with who (the installation token or what was refused), from where, and the outcome. */
function auditAction(req: IncomingMessage, res: ServerResponse, actor: string): void {
  if (req.method === 'GET' || req.method === 'HEAD') return;
  const entry = { audit: 'queues', actor, method: req.method, path: req.url, ip: req.socket.remoteAddress ?? null };
  res.on('finish', () => logger.info({ ...entry, status: res.statusCode }, 'queue dashboard action'));
}

/** Why a credential does not open the board (status and message), or null when it does. */
async function refusal(credential: string | null, token: Buffer | null, keys: KeyLookup, ip: string | null): Promise<[number, string, string] | null> {
  if (credential && token && crypto.timingSafeEqual(digest(credential), token)) return null;
  if (credential && parseSecret(credential)) {
    const auth = await authenticate(keys, `Bearer ${credential}`, ip).catch(() => null);
    if (auth?.ok) return [403, 'the queue dashboard takes the installation token (ADMIN_QUEUES_TOKEN), not an account key', `key:${auth.actor.keyId}`];
  }
  if (!token) return [403, 'the queue dashboard is closed: set ADMIN_QUEUES_TOKEN to open it', 'anonymous'];
  return [401, 'send the installation token (ADMIN_QUEUES_TOKEN) as a Bearer token or the Basic auth password', 'anonymous'];
}

export function createQueueDashboard(opts: QueueDashboardOptions): QueueDashboard {
  const connection = queueConnection(opts.redis ?? opts.redisUrl, 'dashboard');
  const queues = openQueues(connection, opts.redisPrefix);
  const adapter = new ExpressAdapter().setBasePath(DASHBOARD_PATH);
  const readOnlyMode = opts.writable !== true;
  createBullBoard({ queues: Object.values(queues).map((q) => new BullMQAdapter(q, { readOnlyMode })), serverAdapter: adapter });
  const app = adapter.getRouter() as (req: IncomingMessage, res: ServerResponse) => void;
  const token = opts.token ? digest(opts.token) : null;

  return {
    handle(req, res, keys) {
      const ip = req.socket.remoteAddress ?? null;
      refusal(credentialOf(req.headers.authorization), token, keys, ip).then(
        (refused) => {
          auditAction(req, res, refused ? refused[2] : 'installation-token');
          if (refused) return refuse(res, refused[0], refused[1]);
          // The board routes from its own root; its links already carry DASHBOARD_PATH.
          req.url = (req.url ?? '/').slice(DASHBOARD_PATH.length) || '/';
          app(req, res);
        },
        () => refuse(res, 401, 'could not check the credential'),
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

import crypto from 'node:crypto';
import type http from 'node:http';
import { registry as metricsRegistry } from './infra/metrics';
import { sendJson } from './infra/http';

// GET /metrics, for the API server and for a worker-only process's own metrics listener.

/** Prometheus text format; with a token, only for "Bearer <token>"; without one, only for loopback clients. */
export async function serveMetrics(req: http.IncomingMessage, res: http.ServerResponse, token: string | undefined): Promise<void> {
  const ip = req.socket.remoteAddress ?? '';
  const allowed = token ? timingSafeEqualText(req.headers.authorization ?? '', `Bearer ${token}`) : ip === '127.0.0.1' || ip === '::1' || ip === '::ffff:127.0.0.1';
  if (!allowed) return sendJson(res, 403, { error: { code: 'FORBIDDEN', message: token ? 'send "Authorization: Bearer <METRICS_TOKEN>"' : 'metrics are served to loopback clients only unless METRICS_TOKEN is set' } });
  const text = await metricsRegistry.metrics();
  res.writeHead(200, { 'content-type': metricsRegistry.contentType });
  res.end(text);
}

function timingSafeEqualText(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

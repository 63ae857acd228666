import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { bearerKey, decide, resolveTarget, type GuardOptions, type TargetOption } from './guard.js';
import type { VerifyResult } from './types.js';

// Hono: `const requireKey = keywarden({ client }); app.post('/run', requireKey({ agentId }), handler)`.
// The handler finds the result with `c.get('keywarden')`; denials are answered like the gateway's.

declare module 'hono' {
  interface ContextVariableMap {
    keywarden: VerifyResult;
  }
}

export type HonoOptions = GuardOptions<Context>;

/** The client's address under @hono/node-server (its `incoming` request); other runtimes: pass `ip`. */
function nodeServerIp(c: Context): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress;
}

export function keywarden(options: HonoOptions): (target?: TargetOption<Context>) => MiddlewareHandler<{ Variables: { keywarden: VerifyResult } }> {
  const ipOf = options.ip ?? nodeServerIp;
  return (target) =>
    async function keywardenMiddleware(c, next) {
      const decision = await decide(options, bearerKey(c.req.header('authorization')), await resolveTarget(target, c), ipOf(c));
      if (!decision.allow) return c.body(decision.denial.body, decision.denial.status as ContentfulStatusCode, decision.denial.headers);
      c.set('keywarden', decision.result);
      await next();
      for (const [name, value] of Object.entries(decision.headers)) c.header(name, value);
    };
}

export { bearerKey };
export type { Target, TargetOption, Verifier } from './guard.js';

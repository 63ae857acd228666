import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { bearerKey, decide, resolveTarget, type GuardOptions, type TargetOption } from './guard.js';
import type { VerifyResult } from './types.js';

// Express middleware: `const requireKey = keywarden({ client }); app.post('/run', requireKey({ agentId }), handler)`.
// The handler finds the result at `req.keywarden`; denials are answered like the gateway's.

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by @keywarden/sdk/express before the handler runs. */
      keywarden?: VerifyResult;
    }
  }
}

export type ExpressOptions = GuardOptions<Request>;

export function keywarden(options: ExpressOptions): (target?: TargetOption<Request>) => RequestHandler {
  const ipOf = options.ip ?? ((req: Request) => req.ip ?? req.socket?.remoteAddress);
  return (target) =>
    async function keywardenMiddleware(req: Request, res: Response, next: NextFunction): Promise<void> {
      try {
        const decision = await decide(options, bearerKey(req.headers.authorization), await resolveTarget(target, req), ipOf(req));
        if (!decision.allow) {
          res.status(decision.denial.status).set(decision.denial.headers).send(decision.denial.body);
          return;
        }
        req.keywarden = decision.result;
        res.set(decision.headers);
        next();
      } catch (err) {
        next(err);
      }
    };
}

export { bearerKey };
export type { Target, TargetOption, Verifier } from './guard.js';

import type { FastifyPluginAsync, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { bearerKey, decide, resolveTarget, type GuardOptions, type TargetOption } from './guard.js';
import type { VerifyResult } from './types.js';

// Fastify: a preHandler hook per route (`{ preHandler: requireKey({ agentId }) }`), or a plugin
// that guards every route of the scope it is registered in. The handler finds the result at
// `request.keywarden`; denials are answered like the gateway's.

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by @keywarden/sdk/fastify before the handler runs. */
    keywarden?: VerifyResult | null;
  }
}

export type FastifyOptions = GuardOptions<FastifyRequest>;

export function keywarden(options: FastifyOptions): (target?: TargetOption<FastifyRequest>) => preHandlerAsyncHookHandler {
  const ipOf = options.ip ?? ((req: FastifyRequest) => req.ip);
  return (target) =>
    async function keywardenPreHandler(request, reply) {
      const decision = await decide(options, bearerKey(request.headers.authorization), await resolveTarget(target, request), ipOf(request));
      if (!decision.allow) {
        await reply.code(decision.denial.status).headers(decision.denial.headers).send(decision.denial.body);
        return reply;
      }
      request.keywarden = decision.result;
      reply.headers(decision.headers);
    };
}

export interface KeywardenPluginOptions extends FastifyOptions {
  /** The target of every route in the scope (default: any valid key, READ_ONLY). */
  target?: TargetOption<FastifyRequest>;
}

/** `app.register(keywardenPlugin, { client, target })`: guards the routes of the scope it is registered in. */
export const keywardenPlugin: FastifyPluginAsync<KeywardenPluginOptions> = async (app, options) => {
  if (!app.hasRequestDecorator('keywarden')) app.decorateRequest('keywarden', null);
  app.addHook('preHandler', keywarden(options)(options.target));
};
// Like fastify-plugin: the hook and decorator belong to the scope that registers the plugin.
Object.assign(keywardenPlugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: '@keywarden/sdk' });

export { bearerKey };
export type { Target, TargetOption, Verifier } from './guard.js';

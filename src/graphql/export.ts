import { exportConfiguration } from '../reports/export';
import { builder } from './builder';
import { actorOf } from './context';

builder.queryFields((t) => ({
  exportConfiguration: t.field({
    type: 'JSON',
    authScopes: { master: true },
    description: 'Agents, groups, workflows, identities, roles, key settings and webhook endpoints; no secrets, no digests. `version` names the format.',
    resolve: (_root, _args, ctx) => exportConfiguration(ctx.db, actorOf(ctx)),
  }),
}));

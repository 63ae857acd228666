import { createAgent, createAgentGroup, createWorkflow } from '../agents/directory';
import { updateAgent, updateAgentGroup, updateWorkflow } from '../agents/update';
import { builder } from './builder';
import { actorOf } from './context';

// Where the gateway sends an agent's or workflow's requests is for administrators only: a key that
// may only use the gateway (READ_ONLY/EXECUTE) reads null, so it learns no way around the gateway.
const upstreamUrlOptions = {
  nullable: true,
  description: 'Where the gateway proxies requests; null for keys without admin rights (MANAGE, FULL_ACCESS or master).',
  authScopes: { keyAdmin: true },
  unauthorizedResolver: () => null,
} as const;

export const AgentRef = builder.prismaObject('Agent', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    upstreamUrl: t.exposeString('upstreamUrl', upstreamUrlOptions),
    groups: t.relation('groups'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const AgentGroupRef = builder.prismaObject('AgentGroup', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    agents: t.relation('agents'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const WorkflowRef = builder.prismaObject('Workflow', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    agents: t.relation('agents'),
    upstreamUrl: t.exposeString('upstreamUrl', upstreamUrlOptions),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const CreateAgentInput = builder.inputType('CreateAgentInput', {
  fields: (t) => ({ name: t.string({ required: true }), upstreamUrl: t.string({ description: "Where the gateway proxies this agent's requests." }) }),
});
const CreateAgentGroupInput = builder.inputType('CreateAgentGroupInput', {
  fields: (t) => ({ name: t.string({ required: true }), agentIds: t.idList({ required: true }) }),
});
const CreateWorkflowInput = builder.inputType('CreateWorkflowInput', {
  fields: (t) => ({ name: t.string({ required: true }), agentIds: t.idList(), upstreamUrl: t.string() }),
});

const UpdateAgentInput = builder.inputType('UpdateAgentInput', {
  description: 'Fields left out stay as they are.',
  fields: (t) => ({ name: t.string(), upstreamUrl: t.string({ description: 'null or "": no upstream. Checked as on create.' }) }),
});
const UpdateAgentGroupInput = builder.inputType('UpdateAgentGroupInput', {
  description: 'Fields left out stay as they are.',
  fields: (t) => ({ name: t.string(), agentIds: t.idList({ description: "The group's members from now on." }) }),
});
const UpdateWorkflowInput = builder.inputType('UpdateWorkflowInput', {
  description: 'Fields left out stay as they are.',
  fields: (t) => ({ name: t.string(), agentIds: t.idList({ description: "The workflow's agents from now on." }), upstreamUrl: t.string({ description: 'null or "": no upstream. Checked as on create.' }) }),
});

const byNewest = [{ createdAt: 'desc' as const }, { id: 'desc' as const }];

builder.queryFields((t) => ({
  agents: t.prismaConnection(
    {
      type: 'Agent',
      cursor: 'id',
      authScopes: { keyAdmin: true },
      resolve: (query, _root, _args, ctx) => ctx.db.prisma.agent.findMany({ ...query, where: { accountId: actorOf(ctx).accountId }, orderBy: byNewest }),
    },
    { name: 'AgentConnection' },
    { name: 'AgentEdge' },
  ),
  agentGroups: t.prismaConnection(
    {
      type: 'AgentGroup',
      cursor: 'id',
      authScopes: { keyAdmin: true },
      resolve: (query, _root, _args, ctx) => ctx.db.prisma.agentGroup.findMany({ ...query, where: { accountId: actorOf(ctx).accountId }, orderBy: byNewest }),
    },
    { name: 'AgentGroupConnection' },
    { name: 'AgentGroupEdge' },
  ),
  workflows: t.prismaConnection(
    {
      type: 'Workflow',
      cursor: 'id',
      authScopes: { keyAdmin: true },
      resolve: (query, _root, _args, ctx) => ctx.db.prisma.workflow.findMany({ ...query, where: { accountId: actorOf(ctx).accountId }, orderBy: byNewest }),
    },
    { name: 'WorkflowConnection' },
    { name: 'WorkflowEdge' },
  ),
}));

builder.mutationFields((t) => ({
  createAgent: t.prismaField({
    type: 'Agent',
    authScopes: { master: true },
    args: { input: t.arg({ type: CreateAgentInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      const agent = await createAgent(ctx.db, actorOf(ctx), input);
      return ctx.db.prisma.agent.findUniqueOrThrow({ ...query, where: { id: agent.id } });
    },
  }),
  createAgentGroup: t.prismaField({
    type: 'AgentGroup',
    authScopes: { master: true },
    args: { input: t.arg({ type: CreateAgentGroupInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      const group = await createAgentGroup(ctx.db, actorOf(ctx), { name: input.name, agentIds: input.agentIds.map(String) });
      return ctx.db.prisma.agentGroup.findUniqueOrThrow({ ...query, where: { id: group.id } });
    },
  }),
  createWorkflow: t.prismaField({
    type: 'Workflow',
    authScopes: { master: true },
    args: { input: t.arg({ type: CreateWorkflowInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      const workflow = await createWorkflow(ctx.db, actorOf(ctx), { name: input.name, upstreamUrl: input.upstreamUrl, agentIds: input.agentIds?.map(String) });
      return ctx.db.prisma.workflow.findUniqueOrThrow({ ...query, where: { id: workflow.id } });
    },
  }),
  updateAgent: t.prismaField({
    type: 'Agent',
    authScopes: { master: true },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateAgentInput, required: true }) },
    resolve: async (query, _root, { id, input }, ctx) => {
      const agent = await updateAgent(ctx.db, actorOf(ctx), String(id), input);
      return ctx.db.prisma.agent.findUniqueOrThrow({ ...query, where: { id: agent.id } });
    },
  }),
  updateAgentGroup: t.prismaField({
    type: 'AgentGroup',
    authScopes: { master: true },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateAgentGroupInput, required: true }) },
    resolve: async (query, _root, { id, input }, ctx) => {
      const group = await updateAgentGroup(ctx.db, actorOf(ctx), String(id), { name: input.name, agentIds: input.agentIds?.map(String) });
      return ctx.db.prisma.agentGroup.findUniqueOrThrow({ ...query, where: { id: group.id } });
    },
  }),
  updateWorkflow: t.prismaField({
    type: 'Workflow',
    authScopes: { master: true },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateWorkflowInput, required: true }) },
    resolve: async (query, _root, { id, input }, ctx) => {
      const workflow = await updateWorkflow(ctx.db, actorOf(ctx), String(id), { name: input.name, upstreamUrl: input.upstreamUrl, agentIds: input.agentIds?.map(String) });
      return ctx.db.prisma.workflow.findUniqueOrThrow({ ...query, where: { id: workflow.id } });
    },
  }),
}));

-- CreateEnum
CREATE TYPE "Permission" AS ENUM ('READ_ONLY', 'EXECUTE', 'MANAGE', 'FULL_ACCESS');

-- CreateEnum
CREATE TYPE "ScopeKind" AS ENUM ('SINGLE_AGENT', 'AGENT_GROUP', 'ALL_AGENTS', 'WORKFLOW');

-- CreateEnum
CREATE TYPE "KeyType" AS ENUM ('DEVELOPMENT', 'PRODUCTION', 'INTEGRATION', 'EMERGENCY');

-- CreateEnum
CREATE TYPE "KeyStatus" AS ENUM ('ACTIVE', 'ROTATING', 'EXPIRED', 'REVOKED');

-- CreateTable
CREATE TABLE "Account" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "auditSequence" INTEGER NOT NULL DEFAULT 0,
    "auditHeadHash" TEXT NOT NULL DEFAULT '',

    CONSTRAINT "Account_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Agent" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "upstreamUrl" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Agent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AgentGroup" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AgentGroup_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Workflow" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "upstreamUrl" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Workflow_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "digest" TEXT NOT NULL,
    "start" TEXT NOT NULL,
    "type" "KeyType" NOT NULL,
    "master" BOOLEAN NOT NULL DEFAULT false,
    "permission" "Permission" NOT NULL,
    "scopeKind" "ScopeKind" NOT NULL DEFAULT 'ALL_AGENTS',
    "scopeAgentId" UUID,
    "scopeGroupId" UUID,
    "status" "KeyStatus" NOT NULL DEFAULT 'ACTIVE',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "expiresAt" TIMESTAMP(3),
    "lastUsedAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),
    "revokedReason" TEXT,
    "graceEndsAt" TIMESTAMP(3),
    "rotationDueAt" TIMESTAMP(3),
    "rotationPeriodDays" INTEGER,
    "ipAllowlist" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "rateLimits" JSONB NOT NULL DEFAULT '[]',
    "quota" JSONB,
    "bandwidth" JSONB,
    "maxConcurrent" INTEGER,
    "accessWindows" JSONB NOT NULL DEFAULT '[]',
    "allowedCountries" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "condition" TEXT,
    "metadata" JSONB,
    "parentId" UUID,
    "ancestorIds" UUID[] DEFAULT ARRAY[]::UUID[],
    "predecessorId" UUID,

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "sequence" INTEGER NOT NULL,
    "action" TEXT NOT NULL,
    "actorKeyId" UUID,
    "targetType" TEXT NOT NULL,
    "targetId" TEXT,
    "ip" TEXT,
    "before" JSONB,
    "after" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "prevHash" TEXT NOT NULL,
    "hash" TEXT NOT NULL,

    CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "_AgentToAgentGroup" (
    "A" UUID NOT NULL,
    "B" UUID NOT NULL,

    CONSTRAINT "_AgentToAgentGroup_AB_pkey" PRIMARY KEY ("A","B")
);

-- CreateTable
CREATE TABLE "_AgentToWorkflow" (
    "A" UUID NOT NULL,
    "B" UUID NOT NULL,

    CONSTRAINT "_AgentToWorkflow_AB_pkey" PRIMARY KEY ("A","B")
);

-- CreateTable
CREATE TABLE "_KeyScopeWorkflows" (
    "A" UUID NOT NULL,
    "B" UUID NOT NULL,

    CONSTRAINT "_KeyScopeWorkflows_AB_pkey" PRIMARY KEY ("A","B")
);

-- CreateIndex
CREATE UNIQUE INDEX "Account_name_key" ON "Account"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Agent_accountId_name_key" ON "Agent"("accountId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "AgentGroup_accountId_name_key" ON "AgentGroup"("accountId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "Workflow_accountId_name_key" ON "Workflow"("accountId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_digest_key" ON "ApiKey"("digest");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_predecessorId_key" ON "ApiKey"("predecessorId");

-- CreateIndex
CREATE INDEX "ApiKey_accountId_createdAt_idx" ON "ApiKey"("accountId", "createdAt");

-- CreateIndex
CREATE INDEX "ApiKey_parentId_idx" ON "ApiKey"("parentId");

-- CreateIndex
CREATE INDEX "ApiKey_expiresAt_idx" ON "ApiKey"("expiresAt");

-- CreateIndex
CREATE INDEX "ApiKey_rotationDueAt_idx" ON "ApiKey"("rotationDueAt");

-- CreateIndex
CREATE INDEX "ApiKey_ancestorIds_idx" ON "ApiKey" USING GIN ("ancestorIds");

-- CreateIndex
CREATE UNIQUE INDEX "AuditEvent_accountId_sequence_key" ON "AuditEvent"("accountId", "sequence");

-- CreateIndex
CREATE INDEX "AuditEvent_accountId_action_idx" ON "AuditEvent"("accountId", "action");

-- CreateIndex
CREATE INDEX "AuditEvent_accountId_createdAt_idx" ON "AuditEvent"("accountId", "createdAt");

-- CreateIndex
CREATE INDEX "_AgentToAgentGroup_B_index" ON "_AgentToAgentGroup"("B");

-- CreateIndex
CREATE INDEX "_AgentToWorkflow_B_index" ON "_AgentToWorkflow"("B");

-- CreateIndex
CREATE INDEX "_KeyScopeWorkflows_B_index" ON "_KeyScopeWorkflows"("B");

-- AddForeignKey
ALTER TABLE "Agent" ADD CONSTRAINT "Agent_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AgentGroup" ADD CONSTRAINT "AgentGroup_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Workflow" ADD CONSTRAINT "Workflow_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_scopeAgentId_fkey" FOREIGN KEY ("scopeAgentId") REFERENCES "Agent"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_scopeGroupId_fkey" FOREIGN KEY ("scopeGroupId") REFERENCES "AgentGroup"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "ApiKey"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_predecessorId_fkey" FOREIGN KEY ("predecessorId") REFERENCES "ApiKey"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AuditEvent" ADD CONSTRAINT "AuditEvent_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "_AgentToAgentGroup" ADD CONSTRAINT "_AgentToAgentGroup_A_fkey" FOREIGN KEY ("A") REFERENCES "Agent"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "_AgentToAgentGroup" ADD CONSTRAINT "_AgentToAgentGroup_B_fkey" FOREIGN KEY ("B") REFERENCES "AgentGroup"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "_AgentToWorkflow" ADD CONSTRAINT "_AgentToWorkflow_A_fkey" FOREIGN KEY ("A") REFERENCES "Agent"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "_AgentToWorkflow" ADD CONSTRAINT "_AgentToWorkflow_B_fkey" FOREIGN KEY ("B") REFERENCES "Workflow"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "_KeyScopeWorkflows" ADD CONSTRAINT "_KeyScopeWorkflows_A_fkey" FOREIGN KEY ("A") REFERENCES "ApiKey"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "_KeyScopeWorkflows" ADD CONSTRAINT "_KeyScopeWorkflows_B_fkey" FOREIGN KEY ("B") REFERENCES "Workflow"("id") ON DELETE CASCADE ON UPDATE CASCADE;

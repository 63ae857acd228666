-- People: operators, their sessions, pending OpenID Connect sign-ins, the approval policy and
-- key requests under the two-person rule.

-- CreateEnum
CREATE TYPE "OperatorRole" AS ENUM ('OWNER', 'ADMIN', 'AUDITOR');
CREATE TYPE "ApprovalTrigger" AS ENUM ('HIGH_PRIVILEGE', 'EMERGENCY', 'MASTER', 'ANY');
CREATE TYPE "KeyRequestStatus" AS ENUM ('PENDING', 'APPROVED', 'REJECTED', 'EXPIRED', 'ISSUED');

-- AlterTable
ALTER TABLE "AuditEvent" ADD COLUMN "actorOperatorId" UUID;

-- CreateTable
CREATE TABLE "Operator" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "email" TEXT NOT NULL,
    "name" TEXT,
    "role" "OperatorRole" NOT NULL,
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "issuer" TEXT,
    "subject" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSignInAt" TIMESTAMP(3),

    CONSTRAINT "Operator_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "OperatorSession" (
    "id" UUID NOT NULL,
    "tokenDigest" TEXT NOT NULL,
    "operatorId" UUID NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "ip" TEXT,

    CONSTRAINT "OperatorSession_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "OidcLogin" (
    "id" UUID NOT NULL,
    "bindingDigest" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "nonce" TEXT NOT NULL,
    "codeVerifier" TEXT NOT NULL,
    "returnTo" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "OidcLogin_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "ApprovalPolicy" (
    "accountId" UUID NOT NULL,
    "requireFor" "ApprovalTrigger"[] NOT NULL DEFAULT ARRAY[]::"ApprovalTrigger"[],
    "approvals" INTEGER NOT NULL DEFAULT 1,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ApprovalPolicy_pkey" PRIMARY KEY ("accountId")
);

CREATE TABLE "KeyRequest" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "status" "KeyRequestStatus" NOT NULL DEFAULT 'PENDING',
    "input" JSONB NOT NULL,
    "parentId" UUID,
    "justification" TEXT NOT NULL,
    "requestedById" UUID,
    "requestedByKeyId" UUID,
    "rejectedById" UUID,
    "reason" TEXT,
    "keyId" UUID,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "KeyRequest_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "KeyApproval" (
    "requestId" UUID NOT NULL,
    "operatorId" UUID NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "KeyApproval_pkey" PRIMARY KEY ("requestId", "operatorId")
);

-- CreateIndex
CREATE UNIQUE INDEX "Operator_accountId_email_key" ON "Operator"("accountId", "email");
CREATE UNIQUE INDEX "Operator_accountId_issuer_subject_key" ON "Operator"("accountId", "issuer", "subject");
CREATE INDEX "Operator_email_idx" ON "Operator"("email");
CREATE UNIQUE INDEX "OperatorSession_tokenDigest_key" ON "OperatorSession"("tokenDigest");
CREATE INDEX "OperatorSession_operatorId_idx" ON "OperatorSession"("operatorId");
CREATE INDEX "OperatorSession_expiresAt_idx" ON "OperatorSession"("expiresAt");
CREATE UNIQUE INDEX "OidcLogin_bindingDigest_key" ON "OidcLogin"("bindingDigest");
CREATE INDEX "OidcLogin_expiresAt_idx" ON "OidcLogin"("expiresAt");
CREATE UNIQUE INDEX "KeyRequest_keyId_key" ON "KeyRequest"("keyId");
CREATE INDEX "KeyRequest_accountId_createdAt_idx" ON "KeyRequest"("accountId", "createdAt");
CREATE INDEX "KeyRequest_status_expiresAt_idx" ON "KeyRequest"("status", "expiresAt");

-- AddForeignKey
ALTER TABLE "Operator" ADD CONSTRAINT "Operator_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "OperatorSession" ADD CONSTRAINT "OperatorSession_operatorId_fkey" FOREIGN KEY ("operatorId") REFERENCES "Operator"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "ApprovalPolicy" ADD CONSTRAINT "ApprovalPolicy_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "KeyRequest" ADD CONSTRAINT "KeyRequest_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "KeyRequest" ADD CONSTRAINT "KeyRequest_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "ApiKey"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "KeyRequest" ADD CONSTRAINT "KeyRequest_requestedById_fkey" FOREIGN KEY ("requestedById") REFERENCES "Operator"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "KeyRequest" ADD CONSTRAINT "KeyRequest_requestedByKeyId_fkey" FOREIGN KEY ("requestedByKeyId") REFERENCES "ApiKey"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "KeyRequest" ADD CONSTRAINT "KeyRequest_rejectedById_fkey" FOREIGN KEY ("rejectedById") REFERENCES "Operator"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "KeyRequest" ADD CONSTRAINT "KeyRequest_keyId_fkey" FOREIGN KEY ("keyId") REFERENCES "ApiKey"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "KeyApproval" ADD CONSTRAINT "KeyApproval_requestId_fkey" FOREIGN KEY ("requestId") REFERENCES "KeyRequest"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "KeyApproval" ADD CONSTRAINT "KeyApproval_operatorId_fkey" FOREIGN KEY ("operatorId") REFERENCES "Operator"("id") ON DELETE CASCADE ON UPDATE CASCADE;

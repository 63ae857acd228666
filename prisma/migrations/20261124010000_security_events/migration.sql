-- CreateEnum
CREATE TYPE "Severity" AS ENUM ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL');

-- CreateEnum
CREATE TYPE "SecurityEventKind" AS ENUM ('FAILED_AUTH_BURST', 'RATE_LIMIT_VIOLATION', 'USAGE_ANOMALY', 'GEO_ANOMALY', 'PRIVILEGE_ESCALATION', 'BULK_OPERATION', 'KEY_CREATED', 'ROTATED_KEY_USED', 'KEY_LEAKED', 'EMERGENCY_KEY_USED', 'ENDPOINT_DISABLED');

-- CreateTable
CREATE TABLE "SecurityEvent" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "kind" "SecurityEventKind" NOT NULL,
    "severity" "Severity" NOT NULL,
    "keyId" UUID,
    "ip" TEXT,
    "details" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "acknowledgedAt" TIMESTAMP(3),
    "acknowledgedBy" UUID,

    CONSTRAINT "SecurityEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "SecurityEvent_accountId_createdAt_idx" ON "SecurityEvent"("accountId", "createdAt");

-- CreateIndex
CREATE INDEX "SecurityEvent_keyId_createdAt_idx" ON "SecurityEvent"("keyId", "createdAt");

-- AddForeignKey
ALTER TABLE "SecurityEvent" ADD CONSTRAINT "SecurityEvent_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SecurityEvent" ADD CONSTRAINT "SecurityEvent_keyId_fkey" FOREIGN KEY ("keyId") REFERENCES "ApiKey"("id") ON DELETE SET NULL ON UPDATE CASCADE;

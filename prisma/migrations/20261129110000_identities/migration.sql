-- Identities (the customer or system behind several keys), roles and permission strings, credits.

-- CreateTable
CREATE TABLE "Identity" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "externalId" TEXT NOT NULL,
    "metadata" JSONB,
    "rateLimits" JSONB NOT NULL DEFAULT '[]',
    "quota" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Identity_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Role" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "permissions" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Role_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "_KeyRoles" (
    "A" UUID NOT NULL,
    "B" UUID NOT NULL,

    CONSTRAINT "_KeyRoles_AB_pkey" PRIMARY KEY ("A","B")
);

-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN "identityId" UUID,
ADD COLUMN "permissions" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN "creditsRemaining" INTEGER,
ADD COLUMN "creditsRefill" JSONB,
ADD COLUMN "creditsEpoch" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "creditsRefilledAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "UsageRollup" ADD COLUMN "identityId" UUID;

-- CreateIndex
CREATE UNIQUE INDEX "Identity_accountId_externalId_key" ON "Identity"("accountId", "externalId");
CREATE INDEX "Identity_accountId_createdAt_idx" ON "Identity"("accountId", "createdAt");
CREATE UNIQUE INDEX "Role_accountId_name_key" ON "Role"("accountId", "name");
CREATE INDEX "_KeyRoles_B_index" ON "_KeyRoles"("B");
CREATE INDEX "ApiKey_identityId_idx" ON "ApiKey"("identityId");
CREATE INDEX "UsageRollup_identityId_hour_idx" ON "UsageRollup"("identityId", "hour");
-- The refill scan reads only keys with a refill schedule.
CREATE INDEX "ApiKey_creditsRefilledAt_idx" ON "ApiKey"("creditsRefilledAt") WHERE "creditsRefill" IS NOT NULL;

-- AddForeignKey
ALTER TABLE "Identity" ADD CONSTRAINT "Identity_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "Role" ADD CONSTRAINT "Role_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_identityId_fkey" FOREIGN KEY ("identityId") REFERENCES "Identity"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "UsageRollup" ADD CONSTRAINT "UsageRollup_identityId_fkey" FOREIGN KEY ("identityId") REFERENCES "Identity"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "_KeyRoles" ADD CONSTRAINT "_KeyRoles_A_fkey" FOREIGN KEY ("A") REFERENCES "ApiKey"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "_KeyRoles" ADD CONSTRAINT "_KeyRoles_B_fkey" FOREIGN KEY ("B") REFERENCES "Role"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- CreateTable
CREATE TABLE "UsageRollup" (
    "keyId" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "hour" TIMESTAMP(3) NOT NULL,
    "requests" INTEGER NOT NULL DEFAULT 0,
    "allowed" INTEGER NOT NULL DEFAULT 0,
    "denied" INTEGER NOT NULL DEFAULT 0,
    "units" INTEGER NOT NULL DEFAULT 0,
    "bytes" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "deniedByCode" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "UsageRollup_pkey" PRIMARY KEY ("keyId","hour")
);

-- CreateTable
CREATE TABLE "KeyCountry" (
    "keyId" UUID NOT NULL,
    "country" TEXT NOT NULL,
    "firstSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "KeyCountry_pkey" PRIMARY KEY ("keyId","country")
);

-- CreateIndex
CREATE INDEX "UsageRollup_accountId_hour_idx" ON "UsageRollup"("accountId", "hour");

-- AddForeignKey
ALTER TABLE "UsageRollup" ADD CONSTRAINT "UsageRollup_keyId_fkey" FOREIGN KEY ("keyId") REFERENCES "ApiKey"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "KeyCountry" ADD CONSTRAINT "KeyCountry_keyId_fkey" FOREIGN KEY ("keyId") REFERENCES "ApiKey"("id") ON DELETE CASCADE ON UPDATE CASCADE;

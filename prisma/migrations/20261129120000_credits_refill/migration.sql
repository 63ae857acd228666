-- Credits refill: each key with a refill schedule records when its next refill is due. The refill
-- scan reads only keys past it (through the index), and refills each with an UPDATE guarded by
-- the due time it read, so a period is refilled once however many workers scan at once.

-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN "creditsRefillDueAt" TIMESTAMP(3);

-- Keys whose schedule was set before: due at the first refill boundary after their last set or refill.
UPDATE "ApiKey" SET "creditsRefillDueAt" = CASE
    WHEN "creditsRefill"->>'interval' = 'DAILY' THEN date_trunc('day', "creditsRefilledAt") + interval '1 day'
    ELSE date_trunc('month', "creditsRefilledAt" - (COALESCE(("creditsRefill"->>'day')::int, 1) - 1) * interval '1 day')
         + interval '1 month' + (COALESCE(("creditsRefill"->>'day')::int, 1) - 1) * interval '1 day'
  END
WHERE jsonb_typeof("creditsRefill") = 'object' AND "creditsRefilledAt" IS NOT NULL;

-- The refill scan no longer reads creditsRefilledAt.
DROP INDEX IF EXISTS "ApiKey_creditsRefilledAt_idx";

-- CreateIndex
CREATE INDEX "ApiKey_status_creditsRefillDueAt_idx" ON "ApiKey"("status", "creditsRefillDueAt");

-- The Keywarden process that made a change when neither a key nor a person did ("cli", "scheduler").
ALTER TABLE "AuditEvent" ADD COLUMN "actorSystem" TEXT;

-- The person whose action raised a security event, and the person who acknowledged it (kept after the operator is removed).
ALTER TABLE "SecurityEvent" ADD COLUMN "actorOperatorId" UUID,
ADD COLUMN "acknowledgedByOperatorId" UUID;

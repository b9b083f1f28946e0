-- DropIndex
DROP INDEX "Worker_name_key";

-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN     "runId" TEXT;

-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "workerKeyId" TEXT;

-- AlterTable
ALTER TABLE "Worker" ADD COLUMN     "allowsCommands" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "teamId" TEXT;

-- CreateIndex
CREATE INDEX "ApiKey_runId_idx" ON "ApiKey"("runId");

-- CreateIndex
CREATE INDEX "Worker_name_idx" ON "Worker"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Worker_teamId_name_key" ON "Worker"("teamId", "name");

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Worker" ADD CONSTRAINT "Worker_teamId_fkey" FOREIGN KEY ("teamId") REFERENCES "Team"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Run keys minted before keys were bound to their run (ingest keys named "run <id>" that live one day): revoked, since they could write to any run of their team.
UPDATE "ApiKey" SET "revokedAt" = now()
WHERE "runId" IS NULL AND "revokedAt" IS NULL AND scope = 'ingest' AND name LIKE 'run %' AND "expiresAt" <= "createdAt" + interval '1 day 1 minute';

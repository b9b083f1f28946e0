-- CreateTable
CREATE TABLE "LoggedModel" (
    "id" TEXT NOT NULL,
    "experimentId" TEXT NOT NULL,
    "sourceRunId" TEXT,
    "name" TEXT NOT NULL,
    "modelType" TEXT,
    "status" TEXT NOT NULL DEFAULT 'PENDING',
    "params" JSONB NOT NULL DEFAULT '{}',
    "tags" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "LoggedModel_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "LoggedModel_experimentId_createdAt_idx" ON "LoggedModel"("experimentId", "createdAt");

-- CreateIndex
CREATE INDEX "LoggedModel_sourceRunId_idx" ON "LoggedModel"("sourceRunId");

-- AddForeignKey
ALTER TABLE "LoggedModel" ADD CONSTRAINT "LoggedModel_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LoggedModel" ADD CONSTRAINT "LoggedModel_sourceRunId_fkey" FOREIGN KEY ("sourceRunId") REFERENCES "Run"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Summaries were only ever written with these columns present (write-summaries.ts checks for them),
-- so the table is empty; the DELETE makes the NOT NULL columns safe on any database regardless.
-- Charts bucket a series' points in SQL until its summaries are complete.
DELETE FROM "MetricSummary";

-- AlterTable
ALTER TABLE "MetricSummary" ADD COLUMN     "firstValue" DOUBLE PRECISION NOT NULL,
ADD COLUMN     "lastValue" DOUBLE PRECISION NOT NULL,
ADD COLUMN     "maxStep" INTEGER,
ADD COLUMN     "minStep" INTEGER,
ADD COLUMN     "nonFiniteStep" INTEGER;

-- CreateIndex
CREATE INDEX "Run_experimentId_createdAt_id_idx" ON "Run"("experimentId", "createdAt", "id");

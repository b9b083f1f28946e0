-- D (tokens or samples) and clean time per run, for the compute-optimal analysis.
ALTER TABLE "Run" ADD COLUMN "tokens" DOUBLE PRECISION,
ADD COLUMN "samples" DOUBLE PRECISION,
ADD COLUMN "trainSeconds" DOUBLE PRECISION,
ADD COLUMN "evalSeconds" DOUBLE PRECISION,
ADD COLUMN "overheadSeconds" DOUBLE PRECISION,
ADD COLUMN "samplesPerSecond" DOUBLE PRECISION;

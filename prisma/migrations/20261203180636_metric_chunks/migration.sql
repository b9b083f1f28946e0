-- Chunked series storage: a series' points move from one MetricPoint row each (a text series id,
-- 173 bytes a point with its index) into MetricChunk rows of up to 1,024 consecutive steps, named by
-- a compact numeric series id; the M4 summaries move into the chunks (the chunk's own summary and its
-- 64- and 256-step buckets). Existing points are converted below, and every series' first, last,
-- minimum, maximum and count is recomputed from them (a replaced value could have left them stale).

-- AlterTable
ALTER TABLE "MetricSeries" ADD COLUMN     "number" SERIAL NOT NULL;

-- CreateTable
CREATE TABLE "MetricChunk" (
    "seriesNumber" INTEGER NOT NULL,
    "chunk" INTEGER NOT NULL,
    "count" INTEGER NOT NULL,
    "firstStep" INTEGER NOT NULL,
    "lastStep" INTEGER NOT NULL,
    "firstValue" DOUBLE PRECISION NOT NULL,
    "lastValue" DOUBLE PRECISION NOT NULL,
    "minValue" DOUBLE PRECISION NOT NULL,
    "maxValue" DOUBLE PRECISION NOT NULL,
    "sumValue" DOUBLE PRECISION NOT NULL,
    "minStep" INTEGER,
    "maxStep" INTEGER,
    "nonFiniteStep" INTEGER,
    "stepOffsets" BYTEA,
    "pointValues" BYTEA NOT NULL,
    "wallTimes" BYTEA,
    "m4Fine" BYTEA,
    "m4Coarse" BYTEA,

    CONSTRAINT "MetricChunk_pkey" PRIMARY KEY ("seriesNumber","chunk")
);

-- The points, converted: the same encoding and the same M4 rules as server/domain/metrics/chunk-codec.ts
-- (big-endian; ties keep the earliest minimum and the latest maximum; a level's buckets are kept when
-- the chunk holds at least 16 points a bucket of it).
CREATE TEMPORARY TABLE "_point" ON COMMIT DROP AS
SELECT s."number" AS sn, p.step / 1024 AS chunk, p.step, p.value, p."wallTime" AS wall_time,
       p.value NOT IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8) AS finite
FROM "MetricPoint" p JOIN "MetricSeries" s ON s.id = p."seriesId";

CREATE TEMPORARY TABLE "_bucket" ON COMMIT DROP AS
SELECT sn, chunk, width, bucket, count(*) OVER (PARTITION BY sn, chunk, width) AS buckets, n,
       int4send(first_step) || int4send(last_step) || int4send(COALESCE(mn[2]::int, -1)) || int4send(COALESCE(mx[2]::int, -1))
       || int4send(COALESCE(gap, -1)) || int4send(n) || float8send(fst[2]) || float8send(lst[2])
       || float8send(COALESCE(mn[1], 'NaN'::float8)) || float8send(COALESCE(mx[1], 'NaN'::float8)) AS m4
FROM (
  SELECT sn, chunk, w.width, step / w.width AS bucket, min(step) AS first_step, max(step) AS last_step, count(*)::int AS n,
         min(ARRAY[value, step::float8]) FILTER (WHERE finite) AS mn, max(ARRAY[value, step::float8]) FILTER (WHERE finite) AS mx,
         min(ARRAY[step::float8, value]) AS fst, max(ARRAY[step::float8, value]) AS lst, min(step) FILTER (WHERE NOT finite) AS gap
  FROM "_point" CROSS JOIN (VALUES (64), (256)) AS w(width)
  GROUP BY sn, chunk, w.width, step / w.width
) a;

INSERT INTO "MetricChunk" ("seriesNumber", chunk, count, "firstStep", "lastStep", "firstValue", "lastValue", "minValue", "maxValue", "sumValue",
                           "minStep", "maxStep", "nonFiniteStep", "stepOffsets", "pointValues", "wallTimes", "m4Fine", "m4Coarse")
SELECT c.sn, c.chunk, c.n, c.first_step, c.last_step, c.fst[2], c.lst[2], COALESCE(c.mn[1], 'NaN'::float8), COALESCE(c.mx[1], 'NaN'::float8), c.sum_value,
       c.mn[2]::int, c.mx[2]::int, c.gap,
       CASE WHEN c.n = c.last_step - c.first_step + 1 THEN NULL ELSE c.offsets END, c.point_values, c.wall_times,
       (SELECT string_agg(b.m4, ''::bytea ORDER BY b.bucket) FROM "_bucket" b WHERE b.sn = c.sn AND b.chunk = c.chunk AND b.width = 64 AND c.n >= 16 * b.buckets),
       (SELECT string_agg(b.m4, ''::bytea ORDER BY b.bucket) FROM "_bucket" b WHERE b.sn = c.sn AND b.chunk = c.chunk AND b.width = 256 AND c.n >= 16 * b.buckets)
FROM (
  SELECT sn, chunk, count(*)::int AS n, min(step) AS first_step, max(step) AS last_step,
         min(ARRAY[value, step::float8]) FILTER (WHERE finite) AS mn, max(ARRAY[value, step::float8]) FILTER (WHERE finite) AS mx,
         min(ARRAY[step::float8, value]) AS fst, max(ARRAY[step::float8, value]) AS lst, min(step) FILTER (WHERE NOT finite) AS gap,
         COALESCE(sum(value), 0) AS sum_value,
         string_agg(substring(int4send(step - chunk * 1024) FROM 3 FOR 2), ''::bytea ORDER BY step) AS offsets,
         string_agg(float8send(value), ''::bytea ORDER BY step) AS point_values,
         CASE WHEN count(wall_time) = 0 THEN NULL
              ELSE string_agg(COALESCE(float8send(wall_time), '\x7ff80000000000ff'::bytea), ''::bytea ORDER BY step) END AS wall_times
  FROM "_point" GROUP BY sn, chunk
) c;

-- Every series' summary, exact from its points.
UPDATE "MetricSeries" s SET
  "pointCount" = COALESCE(t.n, 0), "firstStep" = t.first_step, "lastStep" = t.last_step, "lastValue" = t.last_value,
  "minValue" = t.min_value, "maxValue" = t.max_value
FROM (
  SELECT s2.id, sum(c.count)::int AS n, min(c."firstStep") AS first_step, max(c."lastStep") AS last_step,
         (array_agg(c."lastValue" ORDER BY c."lastStep" DESC))[1] AS last_value,
         min(c."minValue") FILTER (WHERE c."minStep" IS NOT NULL) AS min_value,
         max(c."maxValue") FILTER (WHERE c."maxStep" IS NOT NULL) AS max_value
  FROM "MetricSeries" s2 LEFT JOIN "MetricChunk" c ON c."seriesNumber" = s2."number" GROUP BY s2.id
) t WHERE s.id = t.id;

-- DropTable
DROP TABLE "MetricPoint";

-- DropTable
DROP TABLE "MetricSummary";

-- CreateIndex
CREATE UNIQUE INDEX "MetricSeries_number_key" ON "MetricSeries"("number");

-- AddForeignKey
ALTER TABLE "MetricChunk" ADD CONSTRAINT "MetricChunk_seriesNumber_fkey" FOREIGN KEY ("seriesNumber") REFERENCES "MetricSeries"("number") ON DELETE CASCADE ON UPDATE CASCADE;

-- AlterTable
ALTER TABLE "MetricSeries" ADD COLUMN     "experimentId" TEXT;

-- CreateTable
CREATE TABLE "RunParam" (
    "runId" TEXT NOT NULL,
    "experimentId" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "numberValue" DOUBLE PRECISION,
    "textValue" TEXT NOT NULL,

    CONSTRAINT "RunParam_pkey" PRIMARY KEY ("runId","key")
);

-- CreateIndex
CREATE INDEX "RunParam_experimentId_key_numberValue_runId_idx" ON "RunParam"("experimentId", "key", "numberValue", "runId");

-- CreateIndex
CREATE INDEX "RunParam_experimentId_key_textValue_runId_idx" ON "RunParam"("experimentId", "key", "textValue", "runId");

-- CreateIndex
CREATE INDEX "MetricSeries_experimentId_key_lastValue_runId_idx" ON "MetricSeries"("experimentId", "key", "lastValue", "runId");

-- CreateIndex
CREATE INDEX "MetricSeries_experimentId_key_minValue_runId_idx" ON "MetricSeries"("experimentId", "key", "minValue", "runId");

-- CreateIndex
CREATE INDEX "MetricSeries_experimentId_key_maxValue_runId_idx" ON "MetricSeries"("experimentId", "key", "maxValue", "runId");

-- AddForeignKey
ALTER TABLE "RunParam" ADD CONSTRAINT "RunParam_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The runs table sorts by a final/best metric or a swept parameter through the indexes above. Triggers
-- keep them current on every path that writes runs or series (spec apply, tracked runs, ingest, SQL),
-- so no writer has to remember to.

-- MetricSeries.experimentId: the run's experiment, filled on insert (a run never changes experiment).
CREATE FUNCTION "MetricSeries_fill_experiment"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."experimentId" IS NULL THEN
    SELECT r."experimentId" INTO NEW."experimentId" FROM "Run" r WHERE r.id = NEW."runId";
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "MetricSeries_fill_experiment" BEFORE INSERT ON "MetricSeries"
FOR EACH ROW EXECUTE FUNCTION "MetricSeries_fill_experiment"();

UPDATE "MetricSeries" s SET "experimentId" = r."experimentId" FROM "Run" r WHERE r.id = s."runId";

-- RunParam: one row per non-null key of config.params, rewritten whenever the config changes.
-- numberValue is left null for a number float8 cannot hold, rather than failing the run's insert.
-- An index entry must stay under about 2,700 bytes: keys longer than 200 characters (more than the
-- runs table accepts as a sort key) are left out, and textValue keeps a value's first 300 characters,
-- so values that share those sort among themselves by run id.
CREATE FUNCTION "Run_param_rows"(config jsonb)
RETURNS TABLE (key text, "numberValue" float8, "textValue" text) LANGUAGE sql IMMUTABLE AS $$
  SELECT p.key,
         CASE WHEN jsonb_typeof(p.value) = 'number' AND abs(p.value::numeric) <= 1e308 AND (p.value::numeric = 0 OR abs(p.value::numeric) >= 1e-307)
              THEN p.value::numeric::float8 END,
         left(p.value #>> '{}', 300)
  FROM jsonb_each(CASE WHEN jsonb_typeof(config -> 'params') = 'object' THEN config -> 'params' ELSE '{}'::jsonb END) AS p(key, value)
  WHERE jsonb_typeof(p.value) <> 'null' AND length(p.key) <= 200
$$;

CREATE FUNCTION "Run_write_params"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.config IS NOT DISTINCT FROM OLD.config AND NEW."experimentId" = OLD."experimentId" THEN
      RETURN NULL;
    END IF;
    DELETE FROM "RunParam" WHERE "runId" = NEW.id;
  END IF;
  INSERT INTO "RunParam" ("runId", "experimentId", key, "numberValue", "textValue")
  SELECT NEW.id, NEW."experimentId", p.key, p."numberValue", p."textValue" FROM "Run_param_rows"(NEW.config) p;
  RETURN NULL;
END $$;

CREATE TRIGGER "Run_write_params" AFTER INSERT OR UPDATE OF config, "experimentId" ON "Run"
FOR EACH ROW EXECUTE FUNCTION "Run_write_params"();

INSERT INTO "RunParam" ("runId", "experimentId", key, "numberValue", "textValue")
SELECT r.id, r."experimentId", p.key, p."numberValue", p."textValue" FROM "Run" r CROSS JOIN LATERAL "Run_param_rows"(r.config) p;

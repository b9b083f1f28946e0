-- CreateEnum
CREATE TYPE "MetricGoal" AS ENUM ('min', 'max');

-- AlterTable
ALTER TABLE "Project" ADD COLUMN     "metricGoal" "MetricGoal",
ADD COLUMN     "metricName" TEXT;

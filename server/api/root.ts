import { apiKeyRouter } from "./routers/api-key.ts";
import { experimentRouter } from "./routers/experiment.ts";
import { hyperparametersRouter } from "./routers/hyperparameters.ts";
import { liveRouter } from "./routers/live.ts";
import { metricsRouter } from "./routers/metrics.ts";
import { runRouter } from "./routers/run.ts";
import { runsTableRouter } from "./routers/runs-table.ts";
import { scalingRouter } from "./routers/scaling.ts";
import { specRouter } from "./routers/spec.ts";
import { healthRouter } from "./routers/health.ts";
import { inviteRouter } from "./routers/invite.ts";
import { projectRouter } from "./routers/project.ts";
import { reportRouter, sharedReportRouter } from "./routers/report.ts";
import { teamRouter } from "./routers/team.ts";
import { viewerRouter } from "./routers/viewer.ts";
import { createCallerFactory, router } from "./trpc.ts";

export const appRouter = router({
  health: healthRouter,
  viewer: viewerRouter,
  team: teamRouter,
  invite: inviteRouter,
  apiKey: apiKeyRouter,
  project: projectRouter,
  experiment: experimentRouter,
  spec: specRouter,
  run: runRouter,
  scaling: scalingRouter,
  metrics: metricsRouter,
  runsTable: runsTableRouter,
  hyperparameters: hyperparametersRouter,
  live: liveRouter,
  report: reportRouter,
  sharedReport: sharedReportRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);

import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // The `~/` alias for the repository root (tsconfig.json `paths`), for app/ modules the unit tests import.
  resolve: { alias: { "~": fileURLToPath(new URL(".", import.meta.url)) } },
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
          // Training tests really train (tiny models) on two slow cores.
          testTimeout: 60_000,
        },
      },
      {
        // `npm run test:integration` passes --maxWorkers=3: its files mostly wait on PostgreSQL, child
        // processes and training, and vitest's default (cores - 1) ran them one at a time on 2 cores
        // (476 s in CI; 320 s with three at a time, all passing, on the embedded server and on PostgreSQL 15).
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/integration/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          // Fault injection with real processes (`npm run test:faults`, run by .ci/run after `npm test`).
          name: "faults",
          include: ["test/faults/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/integration/global-setup.ts"],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          // Real processes racing real timers on shared 2-core machines: one retry, which vitest reports.
          retry: 1,
        },
      },
      {
        test: {
          // Attacks against real servers started as `npm start` starts them, sign-in on (`npm run test:security`).
          name: "security",
          include: ["test/security/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/security/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 240_000,
          // Each file starts its own server; one at a time keeps memory and timing measurements honest.
          fileParallelism: false,
        },
      },
    ],
  },
});

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { chromium } from "@playwright/test";
const reps = Number(process.argv[2] ?? 7);
const db = "postgres://postgres@127.0.0.1:5432/sb_bench_dash_b12c6912";
const runs = readFileSync("/tmp/runids.txt", "utf8").trim();
const start = (port: number, dist: string) =>
  spawn(process.execPath, ["--import", "tsx", "server/cli/start.ts"], {
    env: {
      ...process.env,
      DATABASE_URL: db,
      PORT: String(port),
      HOST: "127.0.0.1",
      SCALEBOARD_AUTH: "off",
      SCALEBOARD_WORKERS: "0",
      SCALEBOARD_DATA_DIR: `/tmp/sbd-${port}`,
      SCALEBOARD_NEXT_DIST_DIR: dist,
      NEXT_TELEMETRY_DISABLED: "1",
    },
    stdio: "ignore",
  });
const apps = [start(3401, ".next-a"), start(3402, ".next")];
await new Promise((r) => setTimeout(r, 12000));
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
  ],
});
const load = async (context: any, port: number) => {
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${port}/compare?runs=${runs}`, { waitUntil: "commit" });
  const h = await page.waitForFunction(
    () => {
      const c = document.querySelector<HTMLCanvasElement>('[data-testid="curves-panel"] canvas');
      const e = document.querySelector<HTMLElement>('[data-testid="curves-panel"] [data-early-series]');
      return Number(c?.dataset.series) >= 100 || Number(e?.dataset.earlySeries) >= 100 ? performance.now() : false;
    },
    undefined,
    { polling: "raf", timeout: 60000 },
  );
  const ms = await h.jsonValue();
  await page
    .locator('[data-testid="scaling-fit"], [data-testid="scaling-fit-missing"], [data-testid="scaling-empty"]')
    .first()
    .waitFor({ timeout: 60000 });
  await page.close();
  return ms as number;
};
const ctxA = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const ctxB = await browser.newContext({ viewport: { width: 1280, height: 800 } });
await load(ctxA, 3401);
await load(ctxB, 3402);
const a: number[] = [],
  b: number[] = [];
for (let i = 0; i < reps; i++) {
  a.push(await load(ctxA, 3401));
  b.push(await load(ctxB, 3402));
  console.log(i, a.at(-1)!.toFixed(0), b.at(-1)!.toFixed(0));
}
const med = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]!;
console.log(`A ${med(a).toFixed(0)} B ${med(b).toFixed(0)} B/A ${(med(b) / med(a)).toFixed(2)}`);
await browser.close();
for (const app of apps) app.kill("SIGTERM");

import { chromium } from "@playwright/test";
import { readFileSync } from "node:fs";
const runs = readFileSync("/tmp/runids.txt", "utf8").trim();
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const load = async (trace: boolean) => {
  const page = await context.newPage();
  if (trace)
    await browser.startTracing(page, {
      path: "/tmp/trace.json",
      categories: ["devtools.timeline", "disabled-by-default-devtools.timeline", "loading", "blink.user_timing"],
    });
  await page.goto(`http://127.0.0.1:3402/compare?runs=${runs}`, { waitUntil: "commit" });
  await page.waitForFunction(
    () =>
      document.querySelector("[data-early-series]") ||
      document.querySelector('[data-testid="curves-panel"] canvas[data-series]'),
    undefined,
    { polling: "raf", timeout: 60000 },
  );
  const info = await page.evaluate(() => ({
    dcl: (performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming).domContentLoadedEventStart,
    early: document.querySelector<HTMLElement>("[data-early-series]")?.dataset.earlyDrawnAt,
    res: (performance.getEntriesByType("resource") as PerformanceResourceTiming[])
      .filter((e) => e.name.includes("series") || e.name.includes("early"))
      .map((e) => `${e.name.split("/").pop()!.slice(0, 14)} ${e.startTime.toFixed(0)}-${e.responseEnd.toFixed(0)}`)
      .join(", "),
  }));
  if (trace) await browser.stopTracing();
  await page
    .locator('[data-testid="scaling-fit"], [data-testid="scaling-fit-missing"], [data-testid="scaling-empty"]')
    .first()
    .waitFor({ timeout: 60000 });
  await page.close();
  return info;
};
await load(false);
await load(false);
const info = await load(true);
await browser.close();
const events = (JSON.parse(readFileSync("/tmp/trace.json", "utf8")).traceEvents ?? []) as any[];
const nav = events.find((e) => e.name === "navigationStart");
const t0 = nav.ts;
const mainTid = events.find((e) => e.name === "ParseHTML")?.tid;
const mainPid = events.find((e) => e.name === "ParseHTML")?.pid;
console.log(JSON.stringify(info));
const main = events.filter((e) => e.tid === mainTid && e.pid === mainPid && e.ph === "X" && e.dur);
const tasks = main
  .filter((e) => e.name === "RunTask" && (e.ts - t0) / 1000 < 1300 && e.dur > 3000)
  .sort((a, b) => a.ts - b.ts);
for (const task of tasks) {
  const inner = main.filter(
    (e) =>
      e !== task &&
      e.ts >= task.ts &&
      e.ts + e.dur <= task.ts + task.dur &&
      e.dur > 2000 &&
      ![
        "RunTask",
        "MinorGC",
        "V8.GC_SCAVENGER",
        "V8.GC_SCAVENGER_SCAVENGE",
        "V8.GC_SCAVENGER_SCAVENGE_PARALLEL_PHASE",
        "DocumentLoader::StartLoadingResponse",
        "DocumentLoader::CreateParserPostCommit",
        "NavigationBodyLoader::StartLoadingBody",
        "NavigationBodyLoader::OnReadable",
        "NavigationBodyLoader::ReadFromDataPipe",
        "DocumentLoader::BodyDataReceivedImpl",
        "DocumentLoader::HandleData",
        "DocumentLoader::CommitData",
        "DecodedDataDocumentParser::AppendBytes",
      ].includes(e.name),
  );
  const names = inner
    .slice(0, 6)
    .map(
      (e) =>
        `${e.name}${e.args?.data?.url ? "(" + String(e.args.data.url).split("/").pop()!.slice(0, 12) + ")" : ""} ${(e.dur / 1000).toFixed(0)}`,
    )
    .join(", ");
  console.log(`${((task.ts - t0) / 1000).toFixed(0)}+${(task.dur / 1000).toFixed(0)} ${names}`);
}

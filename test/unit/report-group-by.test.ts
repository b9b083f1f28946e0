import { describe, expect, it } from "vitest";
import { describePanel, ZPanel } from "../../server/domain/panels/panel-registry.ts";
import type { ReportView } from "../../server/domain/report/report-schema.ts";
import { parseReportSnapshot } from "../../server/domain/report/report-snapshot.ts";

/** A frozen report whose curves panel groups its runs by model.width (two seeds of one width). */
const grouped: ReportView = {
  version: 1,
  title: "Grouped",
  body: "",
  frozen: true,
  capturedAt: "2026-01-02T03:04:05.000Z",
  publishedAt: "2026-01-02T03:04:05.000Z",
  runs: ["s0", "s1"].map((id, seed) => ({
    id,
    name: `w8 seed=${seed}`,
    status: "succeeded",
    params: { "model.width": 8, seed },
    config: { params: { "model.width": 8, seed } },
    paramCount: 100,
    totalFlops: 1e6,
    wallClockSeconds: 2,
    metrics: {},
  })),
  missingRunCount: 0,
  panels: [
    {
      kind: "curves",
      panel: { kind: "curves", metric: "val/loss", x: "step", logX: false, logY: false, groupBy: "model.width" },
      series: ["s0", "s1"].map((runId, seed) => ({
        runId,
        points: [
          { x: 0, y: 1 + seed / 10 },
          { x: 10, y: 0.5 + seed / 10 },
        ],
        downsampled: false,
      })),
    },
  ],
};

describe("a curves panel's group-by", () => {
  it("is kept in a frozen report's snapshot and read back", () => {
    const read = parseReportSnapshot(JSON.parse(JSON.stringify(grouped)));
    expect(read).toEqual(grouped);
    const panel = read.panels[0];
    expect(panel?.kind === "curves" && panel.panel.groupBy).toBe("model.width");
  });

  it("is optional: a panel stored without it reads as one line per run", () => {
    const panel = ZPanel.parse({ kind: "curves", metric: "val/loss" });
    expect(panel).toEqual({ kind: "curves", metric: "val/loss", x: "step", logX: false, logY: false });
    expect(describePanel(panel)).toBe("curves: val/loss vs step");
    expect(describePanel({ ...panel, groupBy: "model.width" } as typeof panel)).toBe(
      "curves: val/loss vs step by model.width",
    );
  });
});

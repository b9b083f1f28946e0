import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { reportCsv } from "../../app/_features/reports/report-export.ts";
import { AppError } from "../../server/domain/app-error.ts";
import type { ReportView, ScalingPanelView } from "../../server/domain/report/report-schema.ts";
import { parseReportSnapshot } from "../../server/domain/report/report-snapshot.ts";

/** A scaling analysis as a report keeps it (scaling-view.ts's, less the budget advice a report never asks for). */
const scaling: ScalingPanelView["scaling"] = {
  metric: "val/loss",
  use: "final",
  x: "params",
  runs: [
    {
      id: "r1",
      name: "w8",
      experimentId: "e",
      params: { "model.width": 8 },
      paramCount: 100,
      totalFlops: 1e6,
      wallClockSeconds: 2,
      x: 100,
      loss: 0.5,
      lossSource: "series",
    },
  ],
  skipped: [],
  truncated: false,
  groups: [{ paramCount: 100, x: 100, count: 1, mean: 0.5, min: 0.5, max: 0.5, std: 0, runIds: ["r1"] }],
  fit: { ok: false, reason: "needs at least 3 sizes", n: 1, sizes: 1 },
  intervals: null,
  intervalReason: "needs at least 3 sizes",
  curve: [],
  extrapolation: null,
  frontier: { flops: [{ runId: "r1", loss: 0.5, cost: 1e6 }], wallclock: [] },
  budget: null,
};

/** A view as readLiveReportView builds it, with one panel of each kind. */
const view: ReportView = {
  version: 1,
  title: "Width sweep",
  body: "# Findings",
  frozen: true,
  capturedAt: "2026-01-02T03:04:05.000Z",
  publishedAt: "2026-01-02T03:04:05.000Z",
  runs: [
    {
      id: "r1",
      name: "w8",
      status: "succeeded",
      params: { "model.width": 8 },
      config: { model: { width: 8 } },
      paramCount: 100,
      totalFlops: 1e6,
      wallClockSeconds: 2,
      metrics: { "val/loss": { final: 0.5, best: 0.4 } },
    },
  ],
  missingRunCount: 1,
  panels: [
    {
      kind: "curves",
      panel: { kind: "curves", metric: "val/loss", x: "step", logX: false, logY: true },
      series: [
        {
          runId: "r1",
          points: [
            { x: 0, y: 1 },
            { x: 10, y: null },
          ],
          downsampled: false,
        },
      ],
    },
    { kind: "scaling", panel: { kind: "scaling", metric: "val/loss", x: "params", fit: true }, scaling },
    {
      kind: "table",
      panel: { kind: "table", columns: ["name", "val/loss"] },
      columns: ["name", "val/loss"],
      rows: [{ runId: "r1", cells: ["w8", 0.5] }],
    },
    { kind: "config-diff", panel: { kind: "config-diff" } },
  ],
};

/**
 * A snapshot as a report frozen before panel kinds had their own definitions stored it (no version, JSON
 * text as in the database, a non-finite r2 as null): what server/domain/panels/ must keep reading.
 */
const FROZEN_BEFORE_THE_REGISTRY = `{"title":"Old","body":"","frozen":true,"capturedAt":"2026-01-01T00:00:00.000Z",
"publishedAt":"2026-01-01T00:00:00.000Z","missingRunCount":0,"runs":[{"id":"r1","name":"w8","status":"succeeded",
"params":{"model.width":8},"config":{"params":{"model.width":8}},"paramCount":100,"totalFlops":1000000,
"wallClockSeconds":2,"metrics":{"val/loss":{"final":0.5,"best":0.4}}}],"panels":[
{"kind":"curves","panel":{"kind":"curves","metric":"val/loss","x":"step","logX":false,"logY":true},
 "series":[{"runId":"r1","points":[{"x":0,"y":1},{"x":10,"y":0.5}],"downsampled":false}]},
{"kind":"scaling","panel":{"kind":"scaling","metric":"val/loss","x":"params","fit":true},"scaling":{"metric":"val/loss",
 "use":"final","x":"params","runs":[{"id":"r1","name":"w8","experimentId":"e","params":{"model.width":8},"paramCount":100,
 "totalFlops":1000000,"wallClockSeconds":2,"x":100,"loss":0.5,"lossSource":"series"}],"skipped":[],"truncated":false,
 "groups":[{"paramCount":100,"x":100,"count":1,"mean":0.5,"min":0.5,"max":0.5,"std":0,"runIds":["r1"]}],
 "fit":{"ok":true,"alpha":0.5,"A":2,"E":0.1,"r2":null,"n":3,"sizes":3,"residualStd":null,"warnings":[]},
 "intervals":null,"curve":[{"x":100,"loss":0.5,"low":null,"high":null}],"extrapolation":null,
 "frontier":{"flops":[],"wallclock":[]},"budget":null}},
{"kind":"table","panel":{"kind":"table","columns":["name","val/loss"]},"columns":["name","val/loss"],
 "rows":[{"runId":"r1","cells":["w8",0.5]}]},
{"kind":"config-diff","panel":{"kind":"config-diff"}}]}`;

/** What the database hands back: the view after a JSON round trip. */
const stored = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

function refusal(snapshot: unknown): AppError {
  try {
    parseReportSnapshot(snapshot);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error("the snapshot was accepted");
}

describe("frozen report snapshots", () => {
  it("read back exactly what was stored, every panel kind included", () => {
    expect(parseReportSnapshot(stored(view))).toEqual(view);
  });

  it("read a snapshot stored before snapshots had a version as version 1", () => {
    const { version: _version, ...unversioned } = view;
    expect(stored(unversioned)).not.toHaveProperty("version");
    expect(parseReportSnapshot(stored(unversioned))).toEqual(view);
  });

  it("read a snapshot frozen before panel kinds had definitions, and export every one of its panels", () => {
    const read = parseReportSnapshot(JSON.parse(FROZEN_BEFORE_THE_REGISTRY));
    expect(read.version).toBe(1);
    expect(read.panels.map((panel) => panel.kind)).toEqual(["curves", "scaling", "table", "config-diff"]);
    const scalingPanel = read.panels[1];
    if (scalingPanel?.kind !== "scaling" || !scalingPanel.scaling.fit.ok) throw new Error("expected a scaling fit");
    expect(scalingPanel.scaling.fit.r2).toBeNaN();
    expect(scalingPanel.scaling.intervalReason).toBeNull();
    const rows = parse(reportCsv(read)) as string[][];
    expect(new Set(rows.slice(1).map((row) => row[0]))).toEqual(new Set(["1", "2", "3", "4"]));
    expect(rows).toContainEqual(["1", "curves val/loss vs step", "w8", "10", "0.5", "", ""]);
    expect(rows).toContainEqual(["3", "table", "w8", "", "", "val/loss", "0.5"]);
    expect(rows).toContainEqual(["4", "config-diff", "w8", "", "", "model.width", "8"]);
  });

  it("refuse a version this Scaleboard does not know, saying which and what to do", () => {
    const error = refusal({ ...(stored(view) as object), version: 2 });
    expect(error.code).toBe("CONFLICT");
    expect(error.message).toMatch(
      /snapshot is version 2, which this version of Scaleboard cannot read \(it reads version 1\).*publish the report again/,
    );
  });

  it("refuse a damaged snapshot, naming the first wrong field", () => {
    const damaged = stored(view) as { panels: { panel: unknown }[] };
    damaged.panels[0]!.panel = { kind: "table", columns: ["name"] };
    const error = refusal(damaged);
    expect(error.code).toBe("CONFLICT");
    expect(error.message).toMatch(/^This report's frozen snapshot is damaged \(panels\.0\.panel\.kind: /);
  });

  it("give back NaN where JSON stored a non-finite number as null", () => {
    const withFit: ReportView = {
      ...view,
      panels: [
        {
          kind: "scaling",
          panel: { kind: "scaling", metric: "val/loss", x: "params", fit: true },
          scaling: {
            ...scaling,
            fit: {
              ok: true,
              alpha: 0.5,
              A: 2,
              E: 0.1,
              r2: Number.NaN,
              n: 3,
              sizes: 3,
              residualStd: null,
              warnings: [],
            },
          },
        },
      ],
    };
    const json = stored(withFit) as { panels: { scaling: { fit: { r2: unknown } } }[] };
    expect(json.panels[0]!.scaling.fit.r2).toBeNull();
    const read = parseReportSnapshot(json).panels[0];
    if (read?.kind !== "scaling" || !read.scaling.fit.ok) throw new Error("expected a scaling panel with a fit");
    expect(read.scaling.fit.r2).toBeNaN();
    expect(read.scaling.fit.alpha).toBe(0.5);
  });
});

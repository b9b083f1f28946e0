import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { nonFiniteMarkers, seriesLine } from "../../app/_features/charts/series-points.ts";
import { smoothEma, type XY } from "../../app/_features/charts/smoothing.ts";
import { reportCsv } from "../../app/_features/reports/report-export.ts";
import type { PackedSeries } from "../../server/domain/metrics/pack-series.ts";
import type { PanelView, ReportView } from "../../server/domain/report/report-schema.ts";
import { parseReportSnapshot } from "../../server/domain/report/report-snapshot.ts";

/**
 * The chart side of "never drop or hide a logged point": a series answer becomes the points drawn
 * (neighbours beyond a zoom window marked `outside`, interpolated x flagged, non-finite values kept
 * apart and marked at the plot's edges), an EMA continues from a given state, and a report's curves
 * read and export NaN and the infinities, while snapshots frozen with null still read.
 */

const packed: PackedSeries = {
  runId: "r",
  key: "val/loss",
  xs: [20, 25, 30],
  ys: [1, "NaN", "-Infinity"],
  interpolated: [1],
  downsampled: false,
  total: 3,
  before: { x: 10, y: 2, interpolated: true },
  after: { x: 40, y: "Infinity" },
  ema: null,
};

describe("seriesLine and nonFiniteMarkers", () => {
  it("draw the neighbours outside the window, flag interpolated x and keep which non-finite value was logged", () => {
    expect(seriesLine(packed)).toEqual([
      { x: 10, y: 2, interpolated: true, outside: true },
      { x: 20, y: 1 },
      { x: 25, y: null, value: "NaN", interpolated: true },
      { x: 30, y: null, value: "-Infinity" },
      { x: 40, y: null, value: "Infinity", outside: true },
    ]);
  });

  it("mark +Infinity at the top edge, -Infinity and NaN at the bottom, on the edge axis", () => {
    const markers = nonFiniteMarkers(seriesLine(packed), { key: "r", seriesId: "r", label: "run", color: "#123456" });
    expect(markers).toMatchObject({
      role: "marker",
      yAxisID: "edge",
      seriesId: "r",
      showLine: false,
      pointStyle: ["rectRot", "triangle", "triangle"],
      pointRotation: [0, 180, 0],
    });
    expect(markers!.data.map((point) => [point.x, point.y, point.value])).toEqual([
      [25, 0, "NaN"],
      [30, 0, "-Infinity"],
      [40, 1, "Infinity"],
    ]);
    expect(
      nonFiniteMarkers(
        [
          { x: 1, y: 1 },
          { x: 2, y: null },
        ],
        { key: "r", seriesId: "r", label: "r", color: "#000" },
      ),
    ).toBeNull();
  });
});

describe("smoothEma from a state", () => {
  it("continues the EMA of the points before: smoothing the tail from their state equals smoothing the whole", () => {
    const points: XY[] = Array.from({ length: 50 }, (_, x) => ({ x, y: x % 7 === 3 ? null : Math.sin(x) + x / 10 }));
    const whole = smoothEma(points, 0.8);
    // The state after the first 20 points, as the series query computes it (ema.ts).
    let state = { value: 0, count: 0 };
    for (const point of points.slice(0, 20))
      if (point.y !== null) state = { value: state.value * 0.8 + (1 - 0.8) * point.y, count: state.count + 1 };
    expect(smoothEma(points.slice(20), 0.8, state)).toEqual(whole.slice(20));
    // Extra fields (interpolated, outside, value) travel with the smoothed points.
    expect(
      smoothEma(
        [
          { x: 1, y: null, value: "NaN" },
          { x: 2, y: 1, outside: true },
        ],
        0.5,
      ),
    ).toEqual([
      { x: 1, y: null, value: "NaN" },
      { x: 2, y: 1, outside: true },
    ]);
  });
});

function curvesReport(points: { x: number; y: number | string | null }[]): ReportView {
  const panels = [
    {
      kind: "curves",
      panel: { kind: "curves", metric: "val/loss", x: "step", logX: false, logY: false },
      series: [{ runId: "r1", points, downsampled: false }],
    },
  ] as PanelView[];
  return {
    version: 1,
    title: "t",
    body: "",
    frozen: true,
    capturedAt: "2026-01-01T00:00:00.000Z",
    publishedAt: null,
    runs: [
      {
        id: "r1",
        name: "w8",
        status: "succeeded",
        params: {},
        config: {},
        paramCount: null,
        totalFlops: null,
        wallClockSeconds: null,
        metrics: {},
      },
    ],
    missingRunCount: 0,
    panels,
  } as ReportView;
}

describe("a report's curves", () => {
  it("freeze NaN, +Infinity and -Infinity apart and export them as such", () => {
    const view = curvesReport([
      { x: 0, y: 1 },
      { x: 1, y: "NaN" },
      { x: 2, y: "Infinity" },
      { x: 3, y: "-Infinity" },
    ]);
    const read = parseReportSnapshot(JSON.parse(JSON.stringify(view)));
    expect(read).toEqual(view);
    const rows = parse(reportCsv(read), { relax_column_count: true }) as string[][];
    expect(rows.slice(1).map((row) => row[4])).toEqual(["1", "NaN", "Infinity", "-Infinity"]);
  });

  it("still read and export a snapshot frozen when all three were stored as null", () => {
    const old = curvesReport([
      { x: 0, y: 1 },
      { x: 1, y: null },
    ]);
    const read = parseReportSnapshot(JSON.parse(JSON.stringify(old)));
    const rows = parse(reportCsv(read), { relax_column_count: true }) as string[][];
    expect(rows.slice(1).map((row) => row[4])).toEqual(["1", ""]);
  });
});

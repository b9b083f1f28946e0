import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { curvesCsv, scalingCsv } from "../../app/_lib/chart-csv.ts";
import { csvCell, neutraliseFormula, toCsv } from "../../app/_lib/csv.ts";
import { reportCsv } from "../../app/_features/reports/report-export.ts";
import type { PanelView, ReportView } from "../../server/domain/report/report-schema.ts";

const EVIL = '=HYPERLINK("http://evil","x")';
const read = (csv: string) => parse(csv, { relax_column_count: true }) as string[][];
/** Every cell a spreadsheet would see, as text; none may start a formula. */
const formulaCells = (csv: string) =>
  read(csv)
    .flat()
    .filter((cell) => /^[=+\-@\t\r]/.test(cell) && !/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(cell));

describe("neutraliseFormula (OWASP CSV injection)", () => {
  it("prefixes text that starts with =, +, -, @, tab or carriage return with a single quote", () => {
    for (const text of [EVIL, "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=", "-", "-cmd|' /C calc'!A0"])
      expect(neutraliseFormula(text)).toBe(`'${text}`);
  });

  it("leaves other text and plain numbers written as text alone", () => {
    for (const text of ["val/loss", "width=64", "", " =1", "'=already", "-0.5", "+3", "-1e-5", "1.5E+3", "-.5"])
      expect(neutraliseFormula(text)).toBe(text);
  });
});

describe("csvCell and toCsv", () => {
  it("writes numbers unquoted, negatives included, and neutralised text quoted", () => {
    expect(csvCell(-0.5)).toBe("-0.5");
    expect(csvCell(null)).toBe("");
    expect(csvCell(EVIL)).toBe(`"'=HYPERLINK(""http://evil"",""x"")"`);
    expect(csvCell("a,b")).toBe('"a,b"');
    expect(csvCell("line\rbreak")).toBe('"line\rbreak"');
  });

  it("round-trips through a CSV parser with the formula shown as text, headers included", () => {
    const csv = toCsv(
      ["series", EVIL],
      [
        [EVIL, -1.25],
        ["@cmd", "-0.5"],
      ],
    );
    expect(read(csv)).toEqual([
      ["series", `'${EVIL}`],
      [`'${EVIL}`, "-1.25"],
      ["'@cmd", "-0.5"],
    ]);
    expect(formulaCells(csv)).toEqual([]);
  });
});

describe("the product's CSV exports", () => {
  const dataset = (label: string, notes?: string[]) => ({
    key: label,
    label,
    role: "main",
    data: [{ x: 1, y: -0.5 }],
    notes,
  });

  it("a curves panel's CSV neutralises a run named like a formula and a metric key starting with =", () => {
    const csv = curvesCsv([dataset(EVIL)], "step", "=cmd|' /C calc'!A0");
    expect(read(csv)).toEqual([
      ["series", "kind", "step", "'=cmd|' /C calc'!A0", "step interpolated"],
      [`'${EVIL}`, "main", "1", "-0.5", ""],
    ]);
    expect(formulaCells(csv)).toEqual([]);
  });

  it("a curves panel's CSV writes NaN and the infinities, marks interpolated x and leaves out what lies beyond a zoom window", () => {
    const csv = curvesCsv(
      [
        {
          key: "r",
          label: "run",
          role: "main",
          data: [
            { x: 5, y: 1, outside: true },
            { x: 10, y: null, value: "NaN" },
            { x: 20, y: null, value: "Infinity", interpolated: true },
            { x: 30, y: null, value: "-Infinity" },
            { x: 40, y: null },
            { x: 50, y: 2, outside: true },
          ],
        },
        { key: "r:non-finite", label: "run", role: "marker", data: [{ x: 10, y: 0, value: "NaN" }] },
      ],
      "flops",
      "val/loss",
    );
    expect(read(csv)).toEqual([
      ["series", "kind", "flops", "val/loss", "flops interpolated"],
      ["run", "main", "10", "NaN", ""],
      ["run", "main", "20", "Infinity", "yes"],
      ["run", "main", "30", "-Infinity", ""],
      // A gap from a report frozen before the values were kept apart: which value is not known.
      ["run", "main", "40", "", ""],
    ]);
  });

  it("a scaling panel's CSV neutralises series and notes (run names)", () => {
    const csv = scalingCsv([dataset("runs", [EVIL])], "params", "+val");
    expect(read(csv)).toEqual([
      ["series", "kind", "params", "'+val", "note"],
      ["runs", "main", "1", "-0.5", `'${EVIL}`],
    ]);
  });

  it("a report's CSV neutralises run names, tags in table cells, config values and metric names", () => {
    const run = {
      id: "r1",
      name: EVIL,
      status: "succeeded",
      params: { "model.width": 64, note: "@evil", lr: -0.001 },
      config: {},
      paramCount: 1,
      totalFlops: 1,
      wallClockSeconds: 1,
      metrics: {},
    };
    const panels = [
      {
        kind: "curves",
        panel: { kind: "curves", metric: "=loss", x: "step" },
        series: [{ runId: "r1", points: [{ x: 1, y: -2 }], downsampled: false }],
      },
      {
        kind: "table",
        panel: { kind: "table" },
        columns: ["tags", "-metric"],
        rows: [{ runId: "r1", cells: ["=1+1", -3] }],
      },
      { kind: "config-diff", panel: { kind: "config-diff" } },
    ] as unknown as PanelView[];
    const view: ReportView = {
      title: "t",
      body: "",
      frozen: false,
      capturedAt: "",
      publishedAt: null,
      runs: [run],
      missingRunCount: 0,
      panels,
    };
    const csv = reportCsv(view);
    const rows = read(csv);
    expect(rows).toContainEqual(["1", "curves =loss vs step", `'${EVIL}`, "1", "-2", "", ""]);
    expect(rows).toContainEqual(["2", "table", `'${EVIL}`, "", "", "tags", "'=1+1"]);
    expect(rows).toContainEqual(["2", "table", `'${EVIL}`, "", "", "'-metric", "-3"]);
    expect(rows).toContainEqual(["3", "config-diff", `'${EVIL}`, "", "", "note", "'@evil"]);
    expect(rows).toContainEqual(["3", "config-diff", `'${EVIL}`, "", "", "lr", "-0.001"]);
    expect(formulaCells(csv)).toEqual([]);
  });
});

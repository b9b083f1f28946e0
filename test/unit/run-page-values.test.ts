import { describe, expect, it } from "vitest";
import { metricGroup, orderMetricKeys } from "../../app/runs/[runId]/metric-order.ts";
import { environmentRows, flattenJson, formatNumber, formatValue } from "../../app/runs/[runId]/run-values.ts";
import { seriesColor } from "../../app/_features/charts/chart-theme.ts";
import { tickLabel } from "../../app/_features/charts/log-ticks.ts";

describe("the run page's chart order", () => {
  it("leads with the losses, then evaluation and training, and leaves counters and optimizer series last", () => {
    const keys = ["flops", "grad_norm", "lr", "samples", "train/accuracy", "train/loss", "val/accuracy", "val/loss"];
    expect(orderMetricKeys(keys.map((key) => ({ key }))).map((entry) => entry.key)).toEqual([
      "train/loss",
      "val/loss",
      "val/accuracy",
      "train/accuracy",
      "grad_norm",
      "lr",
      "flops",
      "samples",
    ]);
  });

  it("puts the run's own metric first and groups system series", () => {
    const ordered = orderMetricKeys([{ key: "train/loss" }, { key: "val/perplexity" }], "val/perplexity");
    expect(ordered.map((entry) => entry.key)).toEqual(["val/perplexity", "train/loss"]);
    // A project's val_loss leads; a spec's val/loss keeps training before validation.
    const keys = [{ key: "val/loss" }, { key: "train/loss" }, { key: "val_loss" }];
    expect(orderMetricKeys(keys, "val_loss").map((entry) => entry.key)).toEqual(["val_loss", "train/loss", "val/loss"]);
    expect(orderMetricKeys(keys, "val/loss").map((entry) => entry.key)).toEqual(["train/loss", "val/loss", "val_loss"]);
    expect(metricGroup("system/cpu_percent")).toBe("System");
    expect(metricGroup("tokens")).toBe("System");
    expect(metricGroup("samples_per_sec")).toBe("System");
    expect(metricGroup("custom")).toBe("Other");
  });
});

describe("the run page's values", () => {
  it("prints no raw null and rounds to three significant digits with units", () => {
    expect(formatValue("finalValLoss", null)).toBe("not logged");
    expect(formatValue("val/loss", 0.03246808257078965)).toBe("0.0325");
    expect(formatValue("totalFlops", 62521459200)).toBe("62.5G FLOPs");
    expect(formatValue("trainSeconds", 83.4)).toBe("1m 23s");
    expect(formatValue("samplesPerSecond", 51234.7)).toBe("51,235 /s");
    expect(formatNumber(12345)).toBe("12,345");
    expect(formatNumber(0.0000123)).toBe("1.23e-5");
    expect(flattenJson({ a: { b: 1 }, c: [1, 2] })).toEqual([
      ["a.b", 1],
      ["c", "1 2"],
    ]);
  });

  it("names CPU, memory and GPU in words, never 'gpu null'", () => {
    const rows = environmentRows(
      {
        backend: "tensorflow",
        tfjsVersion: "4.22.0",
        gpu: null,
        cpu: "AMD EPYC 7B13",
        cpuCores: 16,
        memoryBytes: 2 ** 34,
      },
      { workerName: "host-1", backend: "tensorflow" },
    );
    expect(rows).toEqual([
      ["backend", "tensorflow (tfjs 4.22.0)"],
      ["CPU", "AMD EPYC 7B13, 16 cores"],
      ["memory", "16 GiB"],
      ["GPU", "none"],
      ["worker", "host-1"],
    ]);
    expect(JSON.stringify(environmentRows({ gpu: 0, host: null }, { workerName: null, backend: null }))).not.toMatch(
      /null/,
    );
  });
});

describe("series colours", () => {
  it("stay distinct for 20 lines on either background, and past 20 still differ from their neighbours", () => {
    for (const dark of [false, true]) {
      const colors = Array.from({ length: 20 }, (_, index) => seriesColor(index, dark));
      expect(new Set(colors).size).toBe(20);
      const more = Array.from({ length: 40 }, (_, index) => seriesColor(20 + index, dark));
      expect(more.every((color) => /^#[0-9a-f]{6}$/.test(color))).toBe(true);
      expect(new Set(more).size).toBe(40);
    }
  });
});

describe("log axis labels", () => {
  const labels = (values: number[]) => {
    const label = tickLabel((value) => String(value), true);
    const ticks = values.map((value) => ({ value }));
    return values.map((value, index) => label(value, index, ticks)).filter(Boolean);
  };

  it("label every tick of an axis spanning less than a decade, not only 0.05 and 0.1", () => {
    expect(labels([0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.2])).toEqual([
      "0.04",
      "0.05",
      "0.06",
      "0.07",
      "0.08",
      "0.09",
      "0.1",
      "0.2",
    ]);
  });

  it("label 1, 2 and 5 of each decade over many decades", () => {
    const ticks = [1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((m) => [m, m * 10, m * 100]).sort((a, b) => a - b);
    expect(labels(ticks)).toEqual(["1", "2", "5", "10", "20", "50", "100", "200", "500"]);
  });
});

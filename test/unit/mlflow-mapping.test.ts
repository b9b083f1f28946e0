import { describe, expect, it } from "vitest";
import { formatLimit, normaliseArtifactPath } from "../../server/domain/artifacts/artifact-store.ts";
import { displayName, splitExperimentName } from "../../server/domain/mlflow/mlflow-experiments.ts";
import { parseParamValue } from "../../server/domain/mlflow/mlflow-runs.ts";

describe("MLflow names and params", () => {
  it("splits Project/Experiment at the first slash; a bare or leading-slash name goes to the MLflow project", () => {
    expect(splitExperimentName("Vision/resnet")).toEqual({ project: "Vision", experiment: "resnet" });
    expect(splitExperimentName("Vision/resnet/v2")).toEqual({ project: "Vision", experiment: "resnet/v2" });
    expect(splitExperimentName("bare")).toEqual({ project: "MLflow", experiment: "bare" });
    expect(splitExperimentName("/Users/me/exp")).toEqual({ project: "MLflow", experiment: "/Users/me/exp" });
    expect(() => splitExperimentName("  ")).toThrow(/must not be empty/);
    expect(() => splitExperimentName(`P/${"x".repeat(101)}`)).toThrow(/at most 100/);
    expect(displayName("MLflow", "bare")).toBe("bare");
    expect(displayName("Vision", "resnet")).toBe("Vision/resnet");
    expect(displayName("MLflow", "a/b")).toBe("MLflow/a/b");
  });

  it("parses params that are numbers or booleans and keeps every other string as sent", () => {
    expect(parseParamValue("0.001")).toBe(0.001);
    expect(parseParamValue("1e-4")).toBe(1e-4);
    expect(parseParamValue("64")).toBe(64);
    expect(parseParamValue("-3")).toBe(-3);
    expect(parseParamValue("True")).toBe(true);
    expect(parseParamValue("false")).toBe(false);
    expect(parseParamValue("adam")).toBe("adam");
    expect(parseParamValue("None")).toBe("None");
    expect(parseParamValue("[1, 2]")).toBe("[1, 2]");
    expect(parseParamValue("0x10")).toBe("0x10");
    expect(parseParamValue("1e999")).toBe("1e999");
  });
});

describe("artifact paths", () => {
  it("keeps relative /-separated paths and refuses every way out of the run's folder", () => {
    expect(normaliseArtifactPath("plots/loss.png")).toBe("plots/loss.png");
    expect(normaliseArtifactPath(["plots", "loss.png"])).toBe("plots/loss.png");
    expect(normaliseArtifactPath("plots/")).toBe("plots");
    expect(normaliseArtifactPath("", true)).toBe("");
    for (const bad of ["../x", "a/../../x", "a/./b", "/etc/passwd", "C:/x", "a\\b", "a\u0000b", "a//b", "a\nb", ""])
      expect(() => normaliseArtifactPath(bad), JSON.stringify(bad)).toThrow(/Invalid artifact path/);
    expect(() => normaliseArtifactPath(`${"a".repeat(256)}/x`)).toThrow(/255/);
  });

  it("names limits in the units a person reads", () => {
    expect(formatLimit(1024 ** 3)).toBe("1 GB");
    expect(formatLimit(50 * 1024 ** 3)).toBe("50 GB");
    expect(formatLimit(1024)).toBe("1 KB");
    expect(formatLimit(1000)).toBe("1000 bytes");
  });
});

import { describe, expect, it } from "vitest";
import {
  type ImportanceRun,
  MIN_IMPORTANCE_RUNS,
  parameterImportance,
  spearman,
} from "../../server/domain/hyperparameters/parameter-importance.ts";

const PARAMETERS = [
  { name: "model.width", kind: "numeric" as const },
  { name: "training.seed", kind: "numeric" as const },
];

/** Loss falls with width only; each seed adds a small wobble that is not monotone in the seed. */
function widthSweep(widths: number[], seeds: number[]): ImportanceRun[] {
  const wobble = [0.004, -0.003, 0.001, -0.002, 0.003];
  return widths.flatMap((width, w) =>
    seeds.map((seed) => ({
      params: { "model.width": width, "training.seed": seed },
      value: 1 / Math.sqrt(width) + wobble[(seed + w) % wobble.length]!,
    })),
  );
}

describe("parameter importance", () => {
  it("ranks width first and seed near zero when the loss depends only on width", () => {
    const result = parameterImportance(widthSweep([16, 32, 64, 128, 256], [0, 1, 2]), PARAMETERS);
    expect(result.kind).toBe("ranked");
    if (result.kind !== "ranked") return;
    expect(result.runCount).toBe(15);
    const [first, second] = result.parameters;
    expect(first?.name).toBe("model.width");
    expect(first?.importance).toBeGreaterThan(0.95);
    expect(second?.name).toBe("training.seed");
    expect(second?.importance).toBeLessThan(0.02);
    // Wider is lower loss: a perfect negative rank correlation; the seed's is weak.
    expect(first?.correlation).toBeCloseTo(-1, 1);
    expect(Math.abs(second?.correlation ?? 1)).toBeLessThan(0.3);
  });

  it("finds a learning rate whose best value lies in the middle (no rank correlation), and no importance in a noise parameter with as many values as runs", () => {
    // A random search: 60 log-uniform learning rates, loss a parabola in log10(lr) around 1e-3; a
    // second parameter drawn independently of the loss takes a new value every run.
    let state = 7;
    const uniform = () => {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
      return state / 2_147_483_648;
    };
    const runs: ImportanceRun[] = Array.from({ length: 60 }, () => {
      const lr = 10 ** (-5 + 4 * uniform());
      return {
        params: { "training.optimizer.lr": lr, "data.shuffle": uniform() },
        value: (Math.log10(lr) + 3) ** 2 + 0.05 * uniform(),
      };
    });
    const result = parameterImportance(runs, [
      { name: "training.optimizer.lr", kind: "numeric" },
      { name: "data.shuffle", kind: "numeric" },
    ]);
    expect(result.kind).toBe("ranked");
    if (result.kind !== "ranked") return;
    const [lr, noise] = result.parameters;
    expect(lr).toMatchObject({ name: "training.optimizer.lr", distinctValues: 60, groups: 10 });
    expect(lr?.importance).toBeGreaterThan(0.8);
    expect(Math.abs(lr?.correlation ?? 1)).toBeLessThan(0.5);
    expect(noise?.name).toBe("data.shuffle");
    expect(noise?.importance).toBeLessThan(0.1);
  });

  it("splits a categorical parameter by its categories and reports no correlation sign for it", () => {
    const runs: ImportanceRun[] = [];
    for (const optimizer of ["adam", "sgd", "rmsprop"])
      for (const seed of [0, 1, 2])
        runs.push({
          params: { "training.optimizer.kind": optimizer, "training.seed": seed },
          value: { adam: 0.1, sgd: 0.5, rmsprop: 0.2 }[optimizer]! + seed * 0.001,
        });
    const result = parameterImportance(runs, [
      { name: "training.optimizer.kind", kind: "categorical" },
      { name: "training.seed", kind: "numeric" },
    ]);
    expect(result.kind).toBe("ranked");
    if (result.kind !== "ranked") return;
    expect(result.parameters[0]).toMatchObject({
      name: "training.optimizer.kind",
      correlation: null,
      distinctValues: 3,
    });
    expect(result.parameters[0]?.importance).toBeGreaterThan(0.9);
  });

  it(`says "cannot say" with fewer than ${MIN_IMPORTANCE_RUNS} finished runs, naming the count`, () => {
    const runs = widthSweep([16, 64, 256], [0, 1]).slice(0, 6);
    const result = parameterImportance(runs, PARAMETERS);
    expect(result).toEqual({
      kind: "cannot-say",
      runCount: 6,
      reason: `6 finished runs with a metric value; importance needs at least ${MIN_IMPORTANCE_RUNS}`,
    });
  });

  it("does not count runs whose metric is not finite", () => {
    const runs = widthSweep([16, 64, 256], [0, 1, 2]).map((run, index) =>
      index < 2 ? { ...run, value: Number.NaN } : run,
    );
    expect(parameterImportance(runs, PARAMETERS)).toMatchObject({ kind: "cannot-say", runCount: 7 });
  });

  it('says "cannot say" when no parameter varies, and leaves a constant parameter unranked', () => {
    const constant = widthSweep([64], [0, 1, 2, 3, 4, 5, 6, 7, 8]).map((run) => ({
      ...run,
      params: { "model.width": 64 },
    }));
    expect(parameterImportance(constant, PARAMETERS)).toEqual({
      kind: "cannot-say",
      runCount: 9,
      reason: "no parameter varies across the 9 runs",
    });
    const withConstant = parameterImportance(
      widthSweep([16, 64, 256], [0, 1, 2]).map((run) => ({ ...run, params: { ...run.params, "model.depth": 2 } })),
      [...PARAMETERS, { name: "model.depth", kind: "numeric" }],
    );
    expect(withConstant.kind === "ranked" && withConstant.parameters.at(-1)).toEqual({
      name: "model.depth",
      kind: "numeric",
      importance: null,
      correlation: null,
      distinctValues: 1,
      groups: 1,
    });
  });
});

describe("spearman", () => {
  it("is 1 for any increasing relation, -1 for decreasing, null for a constant side, and averages ties", () => {
    expect(spearman([1, 2, 3, 4], [1, 8, 27, 64])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNull();
    // Ranks (1.5, 1.5, 3) against (1, 2, 3): Pearson of those ranks.
    expect(spearman([5, 5, 9], [1, 2, 3])).toBeCloseTo(0.8660254, 6);
  });
});

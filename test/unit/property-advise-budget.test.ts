import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Advice,
  type AdvisorFits,
  type AdvisorRun,
  adviseBudget,
} from "../../server/domain/scaling/advise-budget.ts";
import {
  computeOptimalAllocation,
  type JointParameters,
  optimalAllocation,
  predictJoint,
} from "../../server/domain/scaling/fit-joint-scaling-law.ts";

/**
 * Property tests for the budget advisor over random IsoFLOP studies: a width sweep (N = 12 w²)
 * around each budget's optimum of a random true law, with measured throughput. The fits are the
 * truth (the fitting itself is tested elsewhere); the bootstrap is either a spread of resamples,
 * absent, or degenerate (every resample the same), which must never become a zero-width interval.
 */

type Study = { truth: JointParameters; runs: AdvisorRun[]; fits: AdvisorFits; factor: number };

const paramsOf = (width: number) => 12 * width * width;

const study: fc.Arbitrary<Study> = fc
  .record({
    E: fc.double({ min: 0.5, max: 3, noNaN: true }),
    A: fc.double({ min: 50, max: 1000, noNaN: true }),
    B: fc.double({ min: 50, max: 1000, noNaN: true }),
    alpha: fc.double({ min: 0.2, max: 0.6, noNaN: true }),
    beta: fc.double({ min: 0.2, max: 0.6, noNaN: true }),
    firstBudget: fc.double({ min: 9, max: 14, noNaN: true }),
    budgets: fc.integer({ min: 2, max: 4 }),
    bootstrap: fc.constantFrom("spread", "none", "degenerate"),
    factor: fc.constantFrom(2, 4, 8),
    jitter: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 20, maxLength: 20 }),
  })
  .map(({ firstBudget, budgets, bootstrap, factor, jitter, ...truth }) => {
    const allocation = computeOptimalAllocation(truth)!;
    const runs: AdvisorRun[] = [];
    for (let index = 0; index < budgets; index++) {
      const flops = 10 ** (firstBudget + index);
      const optimumWidth = Math.sqrt(optimalAllocation(allocation, flops, 6).params / 12);
      for (const scale of [0.5, 0.71, 1, 1.41, 2]) {
        const width = Math.max(1, Math.round(optimumWidth * scale));
        const params = paramsOf(width);
        const samples = flops / (6 * params);
        const samplesPerSecond = 1e9 / params;
        runs.push({
          runId: `c${index}-w${width}`,
          name: `w${width}`,
          params,
          data: samples,
          flops,
          steps: Math.max(1, Math.round(samples / 32)),
          tokens: null,
          samples,
          trainSeconds: samples / samplesPerSecond,
          samplesPerSecond,
          swept: { "model.width": width, "training.seed": 0 },
        });
      }
    }
    const samples =
      bootstrap === "none"
        ? null
        : jitter.map((value, index) =>
            bootstrap === "degenerate"
              ? { ...truth }
              : {
                  ...truth,
                  E: truth.E * (1 + 0.01 * value),
                  alpha: truth.alpha * (1 + 0.01 * (jitter[19 - index] ?? 0)),
                },
          );
    const fits: AdvisorFits = {
      joint: {
        parameters: truth,
        bootstrap: samples ? { method: "run-bootstrap", resamples: 20, fitted: 20, samples } : null,
      },
      isoflop: null,
      powerLaw: null,
      flopsPerParamToken: 6,
    };
    return { truth, runs, fits, factor };
  })
  // Widths collapse when the optimum is tiny; the study must still sweep 3 or more sizes.
  .filter(({ runs }) => new Set(runs.map((run) => run.params)).size >= 3);

function expectRefusal(advice: Advice): void {
  expect(advice.ok).toBe(false);
  expect(advice.reason).toMatch(/would answer it/);
  for (const field of ["params", "sweptValues", "steps", "tokens", "samples", "predictedLoss", "fit"] as const)
    expect(advice[field]).toBeNull();
}

function expectHonestInterval(advice: Advice): void {
  const loss = advice.predictedLoss!;
  if (loss.low === null || loss.high === null) {
    expect(loss.low).toBeNull();
    expect(loss.high).toBeNull();
    expect(advice.intervalReason).toEqual(expect.any(String));
    expect(advice.intervalMethod).toBeNull();
  } else {
    expect(loss.high).toBeGreaterThan(loss.low);
    expect(advice.intervalMethod).toBe("run-bootstrap");
  }
}

describe("adviseBudget over random studies", () => {
  it("refuses FLOP and time budgets past the extrapolation range, naming what would answer", () => {
    fc.assert(
      fc.property(study, fc.double({ min: 1.01, max: 1000, noNaN: true }), fc.boolean(), (s, beyond, above) => {
        const flops = s.runs.map((run) => run.flops!);
        const seconds = s.runs.map((run) => run.trainSeconds!);
        const flopBudget = above ? Math.max(...flops) * s.factor * beyond : Math.min(...flops) / s.factor / beyond;
        expectRefusal(
          adviseBudget({
            runs: s.runs,
            fits: s.fits,
            budget: { kind: "flops", value: flopBudget },
            maxExtrapolation: s.factor,
          }),
        );
        const timeBudget = above ? Math.max(...seconds) * s.factor * beyond : Math.min(...seconds) / s.factor / beyond;
        expectRefusal(
          adviseBudget({
            runs: s.runs,
            fits: s.fits,
            budget: { kind: "seconds", value: timeBudget },
            maxExtrapolation: s.factor,
          }),
        );
      }),
      { numRuns: 150 },
    );
  });

  it("inside the measured budgets it answers in the swept width, at the fit's optimum, with an honest interval", () => {
    fc.assert(
      fc.property(study, fc.double({ min: 0, max: 1, noNaN: true }), (s, position) => {
        const flops = s.runs.map((run) => run.flops!);
        const low = Math.min(...flops);
        const high = Math.max(...flops);
        const budget = low * (high / low) ** position;
        const advice = adviseBudget({
          runs: s.runs,
          fits: s.fits,
          budget: { kind: "flops", value: budget },
          maxExtrapolation: s.factor,
        });
        expect(advice.ok).toBe(true);
        expect(advice.fit).toBe("joint");
        const width = advice.sweptValues!["model.width"]!;
        expect(Number.isInteger(width) && width >= 1).toBe(true);
        // The width maps back to about the recommended N (within the rounding of one width step).
        expect(paramsOf(width + 1)).toBeGreaterThan(advice.params! * 0.999);
        // (Width 1 is the floor: a smaller optimum still answers 1.)
        if (width > 1) expect(paramsOf(width - 1)).toBeLessThan(advice.params! * 1.001);
        expect(6 * advice.params! * advice.samples!).toBeCloseTo(budget, -Math.floor(Math.log10(budget)) + 6);
        expect(advice.steps).toBeGreaterThanOrEqual(1);
        expect(advice.predictedLoss!.value).toBeCloseTo(predictJoint(s.truth, advice.params!, advice.samples!), 9);
        expectHonestInterval(advice);
      }),
      { numRuns: 150 },
    );
  });

  it("answers a training-time budget inside the measured times, or says why not; never a zero-width interval", () => {
    fc.assert(
      fc.property(study, fc.double({ min: 0, max: 1, noNaN: true }), (s, position) => {
        const seconds = s.runs.map((run) => run.trainSeconds!);
        const low = Math.min(...seconds);
        const high = Math.max(...seconds);
        const advice = adviseBudget({
          runs: s.runs,
          fits: s.fits,
          budget: { kind: "seconds", value: low * (high / low) ** position },
          maxExtrapolation: s.factor,
        });
        if (!advice.ok) {
          // Only the optimum running off the allowed sizes or training lengths may stop it, naming the runs that would answer.
          expect(advice.reason).toMatch(/beyond the (sizes trained|training lengths measured).*would answer it/);
          return;
        }
        expect(Number.isInteger(advice.sweptValues!["model.width"])).toBe(true);
        expectHonestInterval(advice);
      }),
      { numRuns: 100 },
    );
  });
});

describe("adviseBudget guards D as well as N (review H10, section 4)", () => {
  it("refuses a data-hungry law's answer that trains far past the longest run, naming the runs that would answer", () => {
    // alpha 0.6, beta 0.15: a = 0.2, so at the largest budget measured the optimum N is small and D is
    // about 23x the largest D trained (the advisor used to answer ok with tokens = 2.3e10).
    const truth: JointParameters = { E: 1.5, A: 26600, B: 400, alpha: 0.6, beta: 0.15 };
    const runs: AdvisorRun[] = [];
    for (const params of [1e6, 1e7, 1e8])
      for (const data of [1e8, 3e8, 1e9])
        runs.push({
          runId: `n${params}-d${data}`,
          name: `n${params}-d${data}`,
          params,
          data,
          flops: 6 * params * data,
          steps: data / 1000,
          tokens: data,
          samples: null,
          trainSeconds: null,
          samplesPerSecond: null,
          swept: { "model.params": params },
        });
    const fits: AdvisorFits = {
      joint: { parameters: truth, bootstrap: null },
      isoflop: null,
      powerLaw: null,
      flopsPerParamToken: 6,
    };
    const largest = 6 * 1e8 * 1e9;
    const optimum = optimalAllocation(computeOptimalAllocation(truth)!, largest, 6);
    expect(optimum.params).toBeGreaterThan(1e6);
    expect(optimum.params).toBeLessThan(1e7);
    expect(optimum.data).toBeGreaterThan(4 * 1e9);
    const advice = adviseBudget({ runs, fits, budget: { kind: "flops", value: largest } });
    expectRefusal(advice);
    expect(advice.reason).toMatch(/on D ≈ .* beyond the training lengths measured .* would answer it/);
    // Within the measured D (a budget whose optimum D is inside 4x of 1e9) it still answers.
    const inside = adviseBudget({ runs, fits, budget: { kind: "flops", value: 6 * 1e6 * 1e8 } });
    if (inside.ok) expect(inside.tokens!).toBeLessThanOrEqual(4 * 1e9);
  });
});

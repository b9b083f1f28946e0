import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import type { ZodError } from "zod";
import { AppError } from "../app-error.ts";
import { cellHash } from "./cell-identity.ts";
import { flattenConfig, isPlainObject, setPath, type PlainObject } from "./config-paths.ts";
import { compileSweepExpression, ExpressionError, type CompiledExpression } from "./expressions.ts";
import { type DroppedCell, formatFlops, ISOFLOP_BUDGET_PATH, isoflopSteps } from "./isoflop-sweep.ts";
import { type ParsedSpec, zodIssuesToSpecIssues } from "./parse-spec.ts";
import { didYouMean, formatPath, SpecError, type SpecIssue } from "./spec-issue.ts";
import { ZSpec, type CellConfig, type Spec } from "./spec-schema.ts";
import { gridValues, type ScalarValue, type SweepParameter } from "./sweep-parameters.ts";

export const MAX_CELLS_WITHOUT_FORCE = 10_000;
export const MAX_CELLS = 200_000;
const SWEEPABLE_SECTIONS = ["dataset", "validation", "model", "training", "runner"];

export type Cell = {
  cellHash: string;
  name: string;
  /** The swept and derived values of this cell, by config path. */
  params: Record<string, ScalarValue>;
  config: CellConfig;
};

export function cellConfigOf(spec: Spec): CellConfig {
  return {
    dataset: spec.dataset,
    validation: spec.validation,
    model: spec.model,
    training: spec.training,
    runner: spec.runner,
  };
}

type Dimension = { parameters: SweepParameter[]; points: ScalarValue[][] };

function issueAt(parsed: ParsedSpec, specPath: (string | number)[], message: string, atKey = true): SpecIssue {
  return { path: formatPath(specPath), message, ...parsed.locate(specPath, atKey) };
}

function checkParameters(parsed: ParsedSpec, all: SweepParameter[], issues: SpecIssue[]) {
  const seen = new Set<string>();
  for (const parameter of all) {
    const section = parameter.path.split(".")[0] ?? "";
    if (!SWEEPABLE_SECTIONS.includes(section)) {
      issues.push(
        issueAt(
          parsed,
          parameter.specPath,
          `${parameter.path} cannot be swept: only ${SWEEPABLE_SECTIONS.join(", ")} settings define a run`,
        ),
      );
    }
    if (seen.has(parameter.path)) issues.push(issueAt(parsed, parameter.specPath, `${parameter.path} is swept twice`));
    seen.add(parameter.path);
    const source = parameter.source;
    if (source.kind === "range") {
      if (source.steps === undefined && source.step === undefined)
        issues.push(issueAt(parsed, parameter.specPath, "a range needs steps (how many values) or step"));
      if (source.log && (source.from <= 0 || source.to <= 0))
        issues.push(issueAt(parsed, parameter.specPath, "a log range needs from and to above 0"));
      if (source.log && source.step !== undefined && source.step <= 1)
        issues.push(issueAt(parsed, parameter.specPath, "a log range's step is a factor and must be above 1"));
      if (source.to < source.from)
        issues.push(issueAt(parsed, parameter.specPath, "a range's to must not be below its from"));
      const count =
        source.steps ??
        (source.log
          ? Math.log(source.to / source.from) / Math.log(source.step ?? 2)
          : (source.to - source.from) / (source.step ?? 1)) + 1;
      if (Number.isFinite(count) && count > MAX_CELLS)
        issues.push(
          issueAt(parsed, parameter.specPath, `the range has ${Math.floor(count)} values, more than ${MAX_CELLS}`),
        );
    }
    if (
      (source.kind === "uniform" || source.kind === "loguniform" || source.kind === "int") &&
      source.high < source.low
    ) {
      issues.push(issueAt(parsed, parameter.specPath, `${source.kind}: the high end must not be below the low end`));
    }
  }
}

function gridDimensions(parsed: ParsedSpec, issues: SpecIssue[]): Dimension[] {
  const dimensions: Dimension[] = [];
  for (const parameter of parsed.parameters)
    pushSingle(parsed, parameter, "use it with sweep.method: random", dimensions, issues);
  parsed.zipGroups.forEach((group, index) => {
    const lists = group.map((parameter) => gridValues(parameter.source));
    if (lists.some((list) => list === null)) {
      issues.push(
        issueAt(parsed, ["sweep", "zip", index], "zipped parameters take lists or ranges, not distributions", false),
      );
      return;
    }
    const lengths = new Set(lists.map((list) => list!.length));
    if (lengths.size > 1) {
      issues.push(
        issueAt(
          parsed,
          ["sweep", "zip", index],
          `zipped parameters need lists of the same length (got ${group.map((parameter, at) => `${parameter.path}: ${lists[at]!.length}`).join(", ")})`,
          false,
        ),
      );
      return;
    }
    const length = lists[0]?.length ?? 0;
    dimensions.push({ parameters: group, points: Array.from({ length }, (_, at) => lists.map((list) => list![at]!)) });
  });
  const budgets = parsed.spec.sweep?.isoflop?.budgets;
  if (budgets)
    dimensions.push({ parameters: [isoflopBudgetParameter(budgets)], points: budgets.map((budget) => [budget]) });
  for (const parameter of parsed.isoflopParameters)
    pushSingle(parsed, parameter, "an IsoFLOP sweep takes lists or ranges", dimensions, issues);
  return dimensions;
}

/** One parameter's grid values as a dimension of their own; a random source is an issue saying `instead`. */
function pushSingle(
  parsed: ParsedSpec,
  parameter: SweepParameter,
  instead: string,
  dimensions: Dimension[],
  issues: SpecIssue[],
): void {
  const values = gridValues(parameter.source);
  if (!values) {
    issues.push(issueAt(parsed, parameter.specPath, `${parameter.source.kind} draws random values: ${instead}`));
    return;
  }
  dimensions.push({ parameters: [parameter], points: values.map((value) => [value]) });
}

/** The budgets as a swept setting: each cell records its own at training.isoflopBudget. */
function isoflopBudgetParameter(budgets: number[]): SweepParameter {
  const at = ["sweep", "isoflop", "budgets"];
  return { path: ISOFLOP_BUDGET_PATH, specPath: at, listPath: at, source: { kind: "list", values: budgets } };
}

/** Settings an IsoFLOP sweep sets itself, so nothing else may sweep or derive them. */
const setByIsoflop = (path: string) =>
  path === ISOFLOP_BUDGET_PATH || path === "training.budget" || path.startsWith("training.budget.");

function seedsOf(spec: Spec): number[] | null {
  const seeds = spec.sweep?.seeds;
  if (seeds === undefined) return null;
  return typeof seeds === "number" ? Array.from({ length: seeds }, (_, index) => index) : seeds;
}

function* gridPoints(dimensions: Dimension[]): Generator<Map<string, ScalarValue>> {
  const indices = dimensions.map(() => 0);
  if (dimensions.some((dimension) => dimension.points.length === 0)) return;
  while (true) {
    const point = new Map<string, ScalarValue>();
    dimensions.forEach((dimension, at) => {
      dimension.parameters.forEach((parameter, index) => {
        point.set(parameter.path, dimension.points[indices[at]!]![index]!);
      });
    });
    yield point;
    let carry = dimensions.length - 1;
    while (carry >= 0) {
      indices[carry]! += 1;
      if (indices[carry]! < dimensions[carry]!.points.length) break;
      indices[carry] = 0;
      carry -= 1;
    }
    if (carry < 0) return;
  }
}

function* randomPoints(parsed: ParsedSpec, count: number, samplerSeed: number): Generator<Map<string, ScalarValue>> {
  const rng = xoroshiro128plus(samplerSeed);
  const unit = () => uniformInt(rng, 0, 2 ** 30 - 1) / 2 ** 30;
  for (let index = 0; index < count; index++) {
    const point = new Map<string, ScalarValue>();
    for (const parameter of parsed.parameters) {
      const source = parameter.source;
      let value: ScalarValue;
      if (source.kind === "list" || source.kind === "choice")
        value = source.values[Math.floor(unit() * source.values.length)]!;
      else if (source.kind === "range")
        value = source.log
          ? Math.exp(Math.log(source.from) + unit() * Math.log(source.to / source.from))
          : source.from + unit() * (source.to - source.from);
      else if (source.kind === "uniform") value = source.low + unit() * (source.high - source.low);
      else if (source.kind === "loguniform")
        value = Math.exp(Math.log(source.low) + unit() * Math.log(source.high / source.low));
      else value = source.low + Math.floor(unit() * (source.high - source.low + 1));
      point.set(parameter.path, value);
    }
    for (const group of parsed.zipGroups) {
      const lists = group.map((parameter) => gridValues(parameter.source) ?? []);
      const length = Math.min(...lists.map((list) => list.length));
      const at = Math.floor(unit() * length);
      group.forEach((parameter, position) => {
        point.set(parameter.path, lists[position]![at]!);
      });
    }
    yield point;
  }
}

function shortNames(paths: string[]): Map<string, string> {
  const last = (path: string) => path.split(".").at(-1) ?? path;
  const counts = new Map<string, number>();
  for (const path of paths) counts.set(last(path), (counts.get(last(path)) ?? 0) + 1);
  return new Map(paths.map((path) => [path, counts.get(last(path)) === 1 ? last(path) : path]));
}

function formatValue(value: ScalarValue): string {
  return typeof value === "number" ? String(Number(value.toPrecision(6))) : String(value);
}

/** Variables an expression sees: every setting by full path, and by its last name when that is unique. */
function expressionVariables(config: CellConfig): Record<string, unknown> {
  const flat = flattenConfig(config);
  const aliases = shortNames(Object.keys(flat));
  const variables: Record<string, unknown> = { ...flat };
  for (const [path, alias] of aliases) if (alias !== path && !(alias in variables)) variables[alias] = flat[path];
  return variables;
}

/**
 * Expands a parsed spec into its cells: grid or random points x zipped groups x seeds, derived
 * values computed, constraints applied, each cell validated and identified by its config hash.
 */
export function expandSweep(parsed: ParsedSpec, options: { force?: boolean } = {}): Cell[] {
  const issues: SpecIssue[] = [];
  const sweep = parsed.spec.sweep;
  const isoflop = sweep?.isoflop !== undefined;
  const swept = [...parsed.parameters, ...parsed.zipGroups.flat(), ...parsed.isoflopParameters];
  checkParameters(parsed, swept, issues);
  if (isoflop) {
    for (const parameter of swept)
      if (setByIsoflop(parameter.path))
        issues.push(
          issueAt(parsed, parameter.specPath, `${parameter.path} is set by sweep.isoflop from each cell's FLOP budget`),
        );
    for (const path of Object.keys(sweep?.derive ?? {}))
      if (setByIsoflop(path))
        issues.push(
          issueAt(parsed, ["sweep", "derive", path], `${path} is set by sweep.isoflop from each cell's FLOP budget`),
        );
  }
  // A bad range may be endless or huge: stop before listing its values.
  if (issues.length) throw new SpecError(issues, parsed.fileName);

  const method = sweep?.method ?? "grid";
  const seeds = seedsOf(parsed.spec);
  let points: Iterable<Map<string, ScalarValue>>;
  let count: number;
  if (method === "random") {
    if (isoflop)
      issues.push(issueAt(parsed, ["sweep", "isoflop"], "an IsoFLOP sweep is a grid: leave out sweep.method: random"));
    if (!sweep?.count)
      issues.push(issueAt(parsed, ["sweep", "method"], "a random sweep needs count: how many points to draw"));
    count = (sweep?.count ?? 0) * (seeds?.length ?? 1);
    points = randomPoints(parsed, sweep?.count ?? 0, sweep?.seed ?? 0);
  } else {
    if (sweep?.count !== undefined)
      issues.push(
        issueAt(parsed, ["sweep", "count"], "count applies to random sweeps; a grid takes every combination"),
      );
    const dimensions = gridDimensions(parsed, issues);
    count = dimensions.reduce((product, dimension) => product * dimension.points.length, 1) * (seeds?.length ?? 1);
    points = gridPoints(dimensions);
  }
  if (issues.length) throw new SpecError(issues, parsed.fileName);
  if (count > MAX_CELLS)
    throw new SpecError(
      [issueAt(parsed, ["sweep"], `the sweep expands to ${count} cells; the most Scaleboard takes is ${MAX_CELLS}`)],
      parsed.fileName,
    );
  if (count > MAX_CELLS_WITHOUT_FORCE && !options.force) {
    throw new AppError(
      "TOO_LARGE",
      `${parsed.fileName}: the sweep expands to ${count} cells, more than ${MAX_CELLS_WITHOUT_FORCE}; pass --force (or force: true) to apply it anyway`,
    );
  }

  const derive: [string, CompiledExpression][] = [];
  const where: [number, CompiledExpression][] = [];
  for (const [path, text] of Object.entries(sweep?.derive ?? {})) {
    try {
      if (!SWEEPABLE_SECTIONS.includes(path.split(".")[0] ?? ""))
        throw new ExpressionError(
          `${path} cannot be derived: only ${SWEEPABLE_SECTIONS.join(", ")} settings define a run`,
        );
      derive.push([path, compileSweepExpression(text)]);
    } catch (error) {
      issues.push(issueAt(parsed, ["sweep", "derive", path], (error as Error).message));
    }
  }
  const constraints = sweep?.where === undefined ? [] : Array.isArray(sweep.where) ? sweep.where : [sweep.where];
  constraints.forEach((text, index) => {
    try {
      where.push([index, compileSweepExpression(text)]);
    } catch (error) {
      issues.push(
        issueAt(
          parsed,
          Array.isArray(sweep?.where) ? ["sweep", "where", index] : ["sweep", "where"],
          (error as Error).message,
          false,
        ),
      );
    }
  });
  if (issues.length) throw new SpecError(issues, parsed.fileName);

  const base: PlainObject = structuredClone(parsed.raw);
  delete base.sweep;
  // Each cell's steps follow from its FLOP budget (replacing the spec's training.budget); one step stands in until its model is known.
  if (isoflop) setPath(base, "training.budget", { steps: 1 });
  const names = shortNames([
    ...swept.map((parameter) => parameter.path),
    ...(isoflop ? [ISOFLOP_BUDGET_PATH] : []),
    ...derive.map(([path]) => path),
  ]);
  const nameOf = (params: Record<string, ScalarValue>) =>
    Object.entries(params)
      .map(
        ([path, value]) =>
          `${path === "training.seed" ? "seed" : (names.get(path) ?? path)}=${path === ISOFLOP_BUDGET_PATH ? formatFlops(value as number) : formatValue(value)}`,
      )
      .join(" ") || parsed.spec.experiment;
  const dropped: DroppedCell[] = [];
  const cells: Cell[] = [];
  const hashes = new Set<string>();
  const reported = new Set<string>();
  const report = (issue: SpecIssue) => {
    const key = `${issue.path}|${issue.message}`;
    if (!reported.has(key)) issues.push(issue);
    reported.add(key);
  };

  for (const point of points) {
    for (const seed of seeds ?? [null]) {
      const raw = structuredClone(base);
      for (const [path, value] of point) setPath(raw, path, value);
      if (seed !== null) setPath(raw, "training.seed", seed);
      const budget = isoflop ? (point.get(ISOFLOP_BUDGET_PATH) as number) : null;
      let parsedCell = ZSpec.safeParse(raw);
      if (parsedCell.success && budget !== null) {
        // Derived values see the cell's steps (a warm-up as a share of training, say).
        const length = isoflopSteps(cellConfigOf(parsedCell.data), budget);
        if ("steps" in length) {
          setPath(raw, "training.budget", { steps: length.steps });
          parsedCell.data.training.budget = { steps: length.steps };
        }
      }
      if (!parsedCell.success) {
        for (const issue of parsedCell.error.issues) {
          const dotted = issue.path.filter((part) => typeof part === "string").join(".");
          const parameter = swept.find((candidate) => candidate.path === dotted);
          const source = parameter?.source;
          const index =
            source && (source.kind === "list" || source.kind === "choice")
              ? source.values.indexOf(point.get(parameter.path)!)
              : -1;
          if (parameter?.listPath && index >= 0) {
            const at = [...parameter.listPath, index];
            report({ path: formatPath(at), message: `${parameter.path}: ${issue.message}`, ...parsed.locate(at) });
          } else {
            zodIssuesToSpecIssues([issue], parsed.locate, swept).forEach(report);
          }
        }
        continue;
      }
      const params: Record<string, ScalarValue> = Object.fromEntries(point);
      if (derive.length) {
        const variables = expressionVariables(cellConfigOf(parsedCell.data));
        let failed = false;
        for (const [path, expression] of derive) {
          try {
            const value = expression(variables);
            if (typeof value === "number" && !Number.isFinite(value))
              throw new ExpressionError(
                `gives ${value} for ${[...point].map(([key, item]) => `${key}=${item}`).join(", ")}`,
              );
            if (typeof value !== "number" && typeof value !== "string" && typeof value !== "boolean")
              throw new ExpressionError("must give a number, text or true/false");
            setPath(raw, path, value);
            params[path] = value;
          } catch (error) {
            report(issueAt(parsed, ["sweep", "derive", path], (error as Error).message));
            failed = true;
          }
        }
        if (failed) continue;
        parsedCell = ZSpec.safeParse(raw);
        if (!parsedCell.success) {
          const error = parsedCell.error as ZodError;
          const derivedPaths = derive.map(([path]) => path);
          for (const issue of error.issues) {
            const dotted = issue.path.filter((part) => typeof part === "string").join(".");
            const unknown =
              issue.code === "unrecognized_keys" ? issue.keys.map((key) => (dotted ? `${dotted}.${key}` : key)) : [];
            const target =
              derivedPaths.find((path) => path === dotted || unknown.includes(path)) ??
              derivedPaths.find((path) => dotted.startsWith(`${path}.`));
            const message =
              issue.code === "unrecognized_keys"
                ? `${target ?? dotted} is not a setting${(() => {
                    const suggestion = didYouMean(
                      target?.split(".").at(-1) ?? "",
                      Object.keys(flattenConfig(cellConfigOf(ZSpec.parse(base as never)))).map(
                        (path) => path.split(".").at(-1)!,
                      ),
                    );
                    return suggestion ? `; did you mean "${suggestion}"?` : "";
                  })()}`
                : `derived ${target ?? dotted}: ${issue.message}`;
            report(issueAt(parsed, target ? ["sweep", "derive", target] : ["sweep", "derive"], message));
          }
          continue;
        }
      }
      const config = cellConfigOf(parsedCell.data);
      if (budget !== null) {
        // Derived values may have changed the model or the batch: the steps follow the cell as trained.
        const length = isoflopSteps(config, budget);
        if ("dropped" in length) {
          const droppedParams = seed === null ? params : { ...params, "training.seed": seed };
          dropped.push({ name: nameOf(droppedParams), params: droppedParams, reason: length.dropped });
          continue;
        }
        config.training.budget = { steps: length.steps };
      }
      if (where.length) {
        const variables = expressionVariables(config);
        let keep = true;
        for (const [index, expression] of where) {
          try {
            if (!expression(variables)) keep = false;
          } catch (error) {
            report(
              issueAt(
                parsed,
                Array.isArray(sweep?.where) ? ["sweep", "where", index] : ["sweep", "where"],
                (error as Error).message,
                false,
              ),
            );
            keep = false;
          }
        }
        if (!keep) continue;
      }
      const hash = cellHash(config);
      if (hashes.has(hash)) continue;
      hashes.add(hash);
      if (seed !== null) params["training.seed"] = seed;
      cells.push({ cellHash: hash, name: nameOf(params), params, config });
    }
  }
  if (issues.length) throw new SpecError(issues, parsed.fileName);
  parsed.droppedCells = dropped;
  if (cells.length === 0 && dropped.length) {
    throw new SpecError(
      [
        issueAt(
          parsed,
          ["sweep", "isoflop"],
          `the IsoFLOP sweep drops every cell (${dropped.length}), for example ${dropped[0]!.name}: ${dropped[0]!.reason}`,
          false,
        ),
      ],
      parsed.fileName,
    );
  }
  if (cells.length === 0) {
    throw new SpecError(
      [
        issueAt(
          parsed,
          sweep?.where !== undefined ? ["sweep", "where"] : ["sweep"],
          "the sweep has no cells left: the constraints remove every combination",
          false,
        ),
      ],
      parsed.fileName,
    );
  }
  return cells;
}

export function isSpecObject(value: unknown): value is PlainObject {
  return isPlainObject(value);
}

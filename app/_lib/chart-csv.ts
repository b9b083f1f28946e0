import { toCsv, type CsvValue } from "./csv.ts";

/** The part of a drawn chart dataset a CSV export reads (structurally a PlotDataset). */
export type CsvDataset = {
  key: string;
  label?: string;
  role: string;
  /** `value`: the non-finite value logged at a gap; `interpolated`: x not logged at that step; `outside`: a zoom window's neighbour. */
  data: readonly {
    x: number;
    y: number | null;
    value?: "NaN" | "Infinity" | "-Infinity";
    interpolated?: true;
    outside?: true;
  }[];
  /** Per-point notes (scaling panels: the run's name, a group's spread). */
  notes?: readonly (string | null)[];
};

/**
 * A curves panel's CSV: one row per plotted point in the window (series, kind, x, y, whether x was
 * interpolated), exactly what is drawn: NaN and the infinities written as such, the points beyond a
 * zoom window (drawn to its edge) and the non-finite markers (their line's rows say it) left out.
 */
export function curvesCsv(datasets: readonly CsvDataset[], xName: string, metric: string | null): string {
  const rows: CsvValue[][] = datasets
    .filter((dataset) => dataset.role !== "marker")
    .flatMap((dataset) =>
      dataset.data.flatMap((point) =>
        point.outside
          ? []
          : [
              [
                dataset.label ?? dataset.key,
                dataset.role,
                point.x,
                point.value === undefined ? point.y : Number(point.value),
                point.interpolated ? "yes" : null,
              ],
            ],
      ),
    );
  return toCsv(["series", "kind", xName, metric ?? "value", `${xName} interpolated`], rows);
}

/** A scaling panel's CSV: one row per plotted point with its note (series, kind, x, y, note). */
export function scalingCsv(datasets: readonly CsvDataset[], xName: string, metric: string): string {
  const rows: CsvValue[][] = datasets.flatMap((dataset) =>
    dataset.data.map((point, index) => [
      dataset.label ?? dataset.key,
      dataset.role,
      point.x,
      point.y,
      dataset.notes?.[index] ?? null,
    ]),
  );
  return toCsv(["series", "kind", xName, metric, "note"], rows);
}

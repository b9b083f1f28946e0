/**
 * The compare page's first series answer, fetched and parsed off the page's main thread. While the
 * page loads, that thread parses HTML, lays it out and runs scripts; a fetch made there takes in its
 * body between those tasks, and 2 MB of points arrive hundreds of ms after the server sent them.
 * A dedicated worker reads and parses the body on its own thread and posts the answer once, each
 * line's values as two Float64Arrays handed over (transferred), not copied: copying 200,000 numbers
 * into the page as array elements took the page's thread longer than the worker took to parse them.
 * Started by the page's head (series-starter.ts), which turns them back into the answer's arrays;
 * bundled by scripts/build-early-curves.ts.
 */
import { fromChartValue, NON_FINITE_TEXTS } from "../../../../server/domain/metrics/chart-value.ts";
import { fetchSeriesAt } from "../series-request.ts";

export type SeriesWorkerReply = { url: string; answer: unknown } | { url: string; error: string };

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<{ url: string }>) => void) | null;
  postMessage(message: SeriesWorkerReply, transfer?: Transferable[]): void;
};

type Entry = { xs?: unknown; ys?: unknown };

/** An answer's lines with their xs and ys as Float64Arrays (NaN and the infinities as themselves), where all are numbers. */
export function typedAnswer(answer: unknown): { answer: unknown; transfer: ArrayBuffer[] } {
  const series = (answer as { series?: unknown } | null)?.series;
  if (!Array.isArray(series)) return { answer, transfer: [] };
  const transfer: ArrayBuffer[] = [];
  const typed = (series as Entry[]).map((entry) => {
    const { xs, ys } = entry;
    if (!Array.isArray(xs) || !Array.isArray(ys)) return entry;
    if (!xs.every((x) => typeof x === "number" && Number.isFinite(x))) return entry;
    if (!ys.every((y) => typeof y === "number" || (NON_FINITE_TEXTS as unknown[]).includes(y))) return entry;
    const typedXs = Float64Array.from(xs as number[]);
    const typedYs = Float64Array.from(ys as Parameters<typeof fromChartValue>[0][], (y) => fromChartValue(y) as number);
    transfer.push(typedXs.buffer, typedYs.buffer);
    return { ...entry, xs: typedXs, ys: typedYs };
  });
  return { answer: { ...(answer as object), series: typed }, transfer };
}

scope.onmessage = async (event) => {
  const { url } = event.data;
  try {
    const { answer, transfer } = typedAnswer(await fetchSeriesAt(url));
    scope.postMessage({ url, answer }, transfer);
  } catch (error) {
    scope.postMessage({ url, error: error instanceof Error ? error.message : String(error) });
  }
};

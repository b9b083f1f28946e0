/** A chart point; `y` is null where the logged value was NaN or infinite, so the line breaks there. */
export type ChartPoint = { x: number; y: number | null };

/** What a caller may hand in: raw values, NaN and the infinities included. */
export type RawPoint = { x: number; y: number | null };

/**
 * Min/max-preserving downsampling (M4: first, last, min and max per bucket), so a spike or a dip
 * survives any zoom level; a plain stride or average would hide it.
 *
 * The x range is cut into `buckets` equal-width buckets. Each bucket keeps its first and last
 * points, the points holding its smallest and largest finite y, and its first non-finite point
 * (a gap, y null). When all five are distinct, the first point is dropped: it is neither an
 * extreme nor a gap, and the output stays within 4 points per bucket. Points whose x is not
 * finite cannot be placed and are left out. When everything fits (at most 4 * buckets points)
 * the input comes back whole, in x order.
 */
export function downsample(points: readonly RawPoint[], options: { buckets: number }): ChartPoint[] {
  const buckets = Math.max(1, Math.floor(options.buckets));
  const placed = points.filter((point) => Number.isFinite(point.x));
  // A stable sort keeps the caller's order among equal x.
  const sorted = placed
    .map((point, index) => ({ point, index }))
    .sort((a, b) => a.point.x - b.point.x || a.index - b.index);
  const ordered = sorted.map(({ point }) => point);
  if (ordered.length <= 4 * buckets) return ordered.map(toChartPoint);

  const first = ordered[0]!.x;
  const span = ordered.at(-1)!.x - first;
  const bucketOf = (x: number) => (span === 0 ? 0 : Math.min(buckets - 1, Math.floor(((x - first) * buckets) / span)));

  const output: ChartPoint[] = [];
  let start = 0;
  while (start < ordered.length) {
    const bucket = bucketOf(ordered[start]!.x);
    let end = start;
    let minAt = -1;
    let maxAt = -1;
    let gapAt = -1;
    for (; end < ordered.length && bucketOf(ordered[end]!.x) === bucket; end++) {
      const y = ordered[end]!.y;
      if (y === null || !Number.isFinite(y)) {
        if (gapAt < 0) gapAt = end;
        continue;
      }
      // Ties keep the earliest minimum and the latest maximum, as the SQL path does.
      if (minAt < 0 || y < ordered[minAt]!.y!) minAt = end;
      if (maxAt < 0 || y >= ordered[maxAt]!.y!) maxAt = end;
    }
    output.push(...pickBucket(ordered, start, end - 1, minAt, maxAt, gapAt).map(toChartPoint));
    start = end;
  }
  return output;
}

/** The kept indices of one bucket [first, last], in x order, at most four. */
function pickBucket(
  ordered: readonly RawPoint[],
  first: number,
  last: number,
  minAt: number,
  maxAt: number,
  gapAt: number,
): RawPoint[] {
  const kept = new Set([first, last, ...[minAt, maxAt, gapAt].filter((index) => index >= 0)]);
  if (kept.size > 4) kept.delete(first);
  return [...kept].sort((a, b) => a - b).map((index) => ordered[index]!);
}

function toChartPoint(point: RawPoint): ChartPoint {
  return { x: point.x, y: point.y !== null && Number.isFinite(point.y) ? point.y : null };
}

import type { Axis, Brush } from "./axes.ts";

/**
 * Parallel-coordinate brushes in the query string, as values rather than axis positions, so a link
 * keeps its meaning when more runs widen an axis: `brush=model.width:16..64,val%2Floss:0.1..0.3`.
 * One item per brushed axis, named by its parameter (the metric's axis by the metric's name), each
 * name URI-encoded so that a `:` or `,` inside it cannot split the list. A numeric axis keeps its
 * range's two ends (6 significant digits); a categorical one the values inside it, `optimizer:adam|sgd`.
 */

const METRIC_AXIS = "metric";
const PARAM_PREFIX = "param:";

const roundValue = (value: number) => String(Number(value.toPrecision(6)));

function axisName(axis: Axis, metricName: string): string {
  return axis.key === METRIC_AXIS ? metricName : axis.key.slice(PARAM_PREFIX.length);
}

/** The brushes as the `brush` query value; null when nothing is brushed. */
export function formatBrushes(
  brushes: ReadonlyMap<string, Brush>,
  axes: readonly Axis[],
  metricName: string,
): string | null {
  const items: string[] = [];
  for (const axis of axes) {
    const brush = brushes.get(axis.key);
    if (!brush) continue;
    const name = encodeURIComponent(axisName(axis, metricName));
    if (axis.valueAt) {
      items.push(`${name}:${roundValue(axis.valueAt(brush.low))}..${roundValue(axis.valueAt(brush.high))}`);
      continue;
    }
    const inside = (axis.categories ?? []).filter(
      (category) => category.position >= brush.low && category.position <= brush.high,
    );
    // A categorical brush between two values holds none: nothing a link could restore.
    if (inside.length > 0)
      items.push(`${name}:${inside.map((category) => encodeURIComponent(String(category.value))).join("|")}`);
  }
  return items.length > 0 ? items.join(",") : null;
}

/**
 * The brushes a `brush` query value names, on these axes; items for an axis that is not drawn, or
 * that do not parse, are left out. A categorical brush spans its values and part of the gaps beside
 * them (not reaching the next value), so that it is drawn as a band rather than a line.
 */
export function parseBrushes(text: string | null, axes: readonly Axis[], metricName: string): Map<string, Brush> {
  const brushes = new Map<string, Brush>();
  if (!text) return brushes;
  // A parameter axis wins over the metric's should a parameter share the metric's name.
  const byName = new Map<string, Axis>();
  for (const axis of axes) if (axis.key === METRIC_AXIS) byName.set(metricName, axis);
  for (const axis of axes) if (axis.key !== METRIC_AXIS) byName.set(axisName(axis, metricName), axis);
  for (const item of text.split(",")) {
    const colon = item.indexOf(":");
    if (colon <= 0) continue;
    let name: string;
    try {
      name = decodeURIComponent(item.slice(0, colon));
    } catch {
      continue;
    }
    const axis = byName.get(name);
    if (!axis) continue;
    const range = item.slice(colon + 1);
    const brush = axis.valueAt ? numericBrush(axis, range) : categoricalBrush(axis, range);
    if (brush) brushes.set(axis.key, brush);
  }
  return brushes;
}

const clamp = (position: number) => Math.min(1, Math.max(0, position));

function numericBrush(axis: Axis, range: string): Brush | null {
  const match = /^(.+?)\.\.(.+)$/.exec(range);
  if (!match) return null;
  const ends = [Number(match[1]), Number(match[2])];
  if (!ends.every(Number.isFinite)) return null;
  const positions = ends.map((value) => axis.position(value));
  if (positions.some((position) => position === null)) return null;
  const [a, b] = positions as number[];
  return { low: clamp(Math.min(a!, b!)), high: clamp(Math.max(a!, b!)) };
}

function categoricalBrush(axis: Axis, range: string): Brush | null {
  const categories = axis.categories ?? [];
  let wanted: Set<string>;
  try {
    wanted = new Set(range.split("|").map((value) => decodeURIComponent(value)));
  } catch {
    return null;
  }
  const positions = categories
    .filter((category) => wanted.has(String(category.value)))
    .map((category) => category.position);
  if (positions.length === 0) return null;
  const pad = categories.length > 1 ? 0.4 / (categories.length - 1) : 0.1;
  return { low: clamp(Math.min(...positions) - pad), high: clamp(Math.max(...positions) + pad) };
}

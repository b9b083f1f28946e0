/**
 * The stored form of a series: MetricChunk rows of up to CHUNK_STEPS consecutive steps (chunk c holds
 * steps c * 1024 .. c * 1024 + 1023), each with its points as big-endian buffers and its summaries.
 *
 * - stepOffsets: uint16 offsets from c * 1024, one a point; null when the chunk holds every step
 *   from firstStep to lastStep (training logs every step, so most chunks store no steps at all).
 * - pointValues: float8, one a point in step order; NaN, +Infinity, -Infinity and -0 kept bit for bit.
 * - wallTimes: float8, one a point, WALL_TIME_ABSENT where none was sent; null when no point has one.
 * - The chunk's summary as columns (count, first, last, finite min and max with their steps, sum,
 *   first non-finite step): a series' summary is an aggregate of its chunks' summaries.
 * - m4Fine / m4Coarse: M4 rows (M4_ROW_BYTES each) of the chunk's 64- and 256-step buckets, kept when
 *   the chunk holds at least 16 points a bucket (else reading the points costs no more).
 * The migration 20261203180636_metric_chunks writes the same encoding in SQL.
 */

export const CHUNK_STEPS = 1024;
export const FINE_WIDTH = 64;
export const COARSE_WIDTH = 256;
const POINTS_PER_KEPT_BUCKET = 16;

/** A wall time's bytes when the point had none: a NaN no arithmetic produces. */
const WALL_TIME_ABSENT_HIGH = 0x7ff80000;
const WALL_TIME_ABSENT_LOW = 0xff;

export type StoredPoint = { step: number; value: number; wallTime: number | null };

/**
 * An M4 summary of consecutive points: a stored bucket, an output bucket, or a single point. Steps
 * are never negative, so -1 stands for "none"; minValue and maxValue are NaN when there is no finite value.
 */
export type M4Row = {
  firstStep: number;
  lastStep: number;
  minStep: number;
  maxStep: number;
  gapStep: number;
  count: number;
  firstValue: number;
  lastValue: number;
  minValue: number;
  maxValue: number;
};
export const M4_ROW_BYTES = 56;

/** A chunk row as stored (the columns of MetricChunk). */
export type ChunkRow = {
  seriesNumber: number;
  chunk: number;
  count: number;
  firstStep: number;
  lastStep: number;
  firstValue: number;
  lastValue: number;
  minValue: number;
  maxValue: number;
  sumValue: number;
  minStep: number | null;
  maxStep: number | null;
  nonFiniteStep: number | null;
  stepOffsets: Uint8Array | null;
  pointValues: Uint8Array;
  wallTimes: Uint8Array | null;
  m4Fine: Uint8Array | null;
  m4Coarse: Uint8Array | null;
};

/** What decoding a chunk's points needs of its row. */
export type ChunkPoints = Pick<ChunkRow, "chunk" | "count" | "firstStep" | "stepOffsets" | "pointValues"> & {
  wallTimes?: Uint8Array | null;
};

export function chunkOf(step: number): number {
  return Math.floor(step / CHUNK_STEPS);
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A chunk's points in step order. */
export function decodeChunk(row: ChunkPoints): StoredPoint[] {
  const values = viewOf(row.pointValues);
  const offsets = row.stepOffsets ? viewOf(row.stepOffsets) : null;
  const walls = row.wallTimes ? viewOf(row.wallTimes) : null;
  const base = row.chunk * CHUNK_STEPS;
  const points: StoredPoint[] = new Array(row.count);
  for (let index = 0; index < row.count; index++) {
    const step = offsets ? base + offsets.getUint16(index * 2) : row.firstStep + index;
    let wallTime: number | null = null;
    if (walls) {
      const absent =
        walls.getUint32(index * 8) === WALL_TIME_ABSENT_HIGH && walls.getUint32(index * 8 + 4) === WALL_TIME_ABSENT_LOW;
      wallTime = absent ? null : walls.getFloat64(index * 8);
    }
    points[index] = { step, value: values.getFloat64(index * 8), wallTime };
  }
  return points;
}

/** Steps and values only, for reads: the same as decodeChunk without the wall times. */
export function decodeSteps(row: ChunkPoints, visit: (step: number, value: number) => void): void {
  const values = viewOf(row.pointValues);
  const offsets = row.stepOffsets ? viewOf(row.stepOffsets) : null;
  const base = row.chunk * CHUNK_STEPS;
  for (let index = 0; index < row.count; index++)
    visit(offsets ? base + offsets.getUint16(index * 2) : row.firstStep + index, values.getFloat64(index * 8));
}

/** The chunk's points within [lo, hi], appended to `steps` and `values` (reads: no object a point). */
export function appendPoints(row: ChunkPoints, lo: number, hi: number, steps: number[], values: number[]): void {
  const view = viewOf(row.pointValues);
  const offsets = row.stepOffsets ? viewOf(row.stepOffsets) : null;
  const base = row.chunk * CHUNK_STEPS;
  for (let index = 0; index < row.count; index++) {
    const step = offsets ? base + offsets.getUint16(index * 2) : row.firstStep + index;
    if (step < lo || step > hi) continue;
    steps.push(step);
    values.push(view.getFloat64(index * 8));
  }
}

/** One point as an M4 row, written into `row` when given (a reader of many points reuses one). */
export function pointRow(step: number, value: number, row: M4Row = emptyM4Row()): M4Row {
  const finite = Number.isFinite(value);
  row.firstStep = step;
  row.lastStep = step;
  row.minStep = finite ? step : -1;
  row.maxStep = finite ? step : -1;
  row.gapStep = finite ? -1 : step;
  row.count = 1;
  row.firstValue = value;
  row.lastValue = value;
  row.minValue = finite ? value : Number.NaN;
  row.maxValue = finite ? value : Number.NaN;
  return row;
}

/** The M4 row of points[start, end) (in step order): ties keep the earliest minimum and the latest maximum. */
export function summarizeRange(points: readonly StoredPoint[], start: number, end: number): M4Row & { sum: number } {
  let minAt = -1;
  let maxAt = -1;
  let gapStep = -1;
  let sum = 0;
  for (let index = start; index < end; index++) {
    const value = points[index]!.value;
    sum += value;
    if (!Number.isFinite(value)) {
      if (gapStep < 0) gapStep = points[index]!.step;
      continue;
    }
    if (minAt < 0 || value < points[minAt]!.value) minAt = index;
    if (maxAt < 0 || value >= points[maxAt]!.value) maxAt = index;
  }
  const first = points[start]!;
  const last = points[end - 1]!;
  return {
    firstStep: first.step,
    lastStep: last.step,
    minStep: minAt < 0 ? -1 : points[minAt]!.step,
    maxStep: maxAt < 0 ? -1 : points[maxAt]!.step,
    gapStep,
    count: end - start,
    firstValue: first.value,
    lastValue: last.value,
    minValue: minAt < 0 ? Number.NaN : points[minAt]!.value,
    maxValue: maxAt < 0 ? Number.NaN : points[maxAt]!.value,
    sum,
  };
}

function writeM4(view: DataView, at: number, row: M4Row): void {
  view.setInt32(at, row.firstStep);
  view.setInt32(at + 4, row.lastStep);
  view.setInt32(at + 8, row.minStep);
  view.setInt32(at + 12, row.maxStep);
  view.setInt32(at + 16, row.gapStep);
  view.setInt32(at + 20, row.count);
  view.setFloat64(at + 24, row.firstValue);
  view.setFloat64(at + 32, row.lastValue);
  view.setFloat64(at + 40, row.minValue);
  view.setFloat64(at + 48, row.maxValue);
}

export function decodeM4Rows(bytes: Uint8Array | null, into: M4Row[] = []): M4Row[] {
  if (!bytes) return into;
  const view = viewOf(bytes);
  for (let at = 0; at + M4_ROW_BYTES <= bytes.byteLength; at += M4_ROW_BYTES)
    into.push(readM4Row(view, at, emptyM4Row()));
  return into;
}

/** An M4 row to be filled by readM4Row. */
export function emptyM4Row(): M4Row {
  return {
    firstStep: 0,
    lastStep: 0,
    minStep: 0,
    maxStep: 0,
    gapStep: 0,
    count: 0,
    firstValue: 0,
    lastValue: 0,
    minValue: 0,
    maxValue: 0,
  };
}

/** The stored M4 row at byte `at` of `view`, written into `row` (a reader of many rows reuses one). */
export function readM4Row(view: DataView, at: number, row: M4Row): M4Row {
  row.firstStep = view.getInt32(at);
  row.lastStep = view.getInt32(at + 4);
  row.minStep = view.getInt32(at + 8);
  row.maxStep = view.getInt32(at + 12);
  row.gapStep = view.getInt32(at + 16);
  row.count = view.getInt32(at + 20);
  row.firstValue = view.getFloat64(at + 24);
  row.lastValue = view.getFloat64(at + 32);
  row.minValue = view.getFloat64(at + 40);
  row.maxValue = view.getFloat64(at + 48);
  return row;
}

/** The M4 rows of the width-step buckets of a chunk's points, or null when they would not be worth keeping. */
function bucketRows(points: readonly StoredPoint[], width: number): Uint8Array | null {
  const rows = rowsOf(points, width);
  return points.length < POINTS_PER_KEPT_BUCKET * rows.length ? null : encodeRows(rows);
}

/** The row storing `points` (one chunk's, in step order, at least one). */
export function encodeChunk(seriesNumber: number, chunk: number, points: readonly StoredPoint[]): ChunkRow {
  const count = points.length;
  const summary = summarizeRange(points, 0, count);
  const dense = summary.lastStep - summary.firstStep + 1 === count;
  const base = chunk * CHUNK_STEPS;
  let stepOffsets: Uint8Array | null = null;
  if (!dense) {
    stepOffsets = new Uint8Array(count * 2);
    const view = viewOf(stepOffsets);
    for (let index = 0; index < count; index++) view.setUint16(index * 2, points[index]!.step - base);
  }
  const pointValues = new Uint8Array(count * 8);
  const values = viewOf(pointValues);
  for (let index = 0; index < count; index++) values.setFloat64(index * 8, points[index]!.value);
  let wallTimes: Uint8Array | null = null;
  if (points.some((point) => point.wallTime !== null)) {
    wallTimes = new Uint8Array(count * 8);
    const walls = viewOf(wallTimes);
    points.forEach((point, index) => {
      if (point.wallTime !== null) walls.setFloat64(index * 8, point.wallTime);
      else {
        walls.setUint32(index * 8, WALL_TIME_ABSENT_HIGH);
        walls.setUint32(index * 8 + 4, WALL_TIME_ABSENT_LOW);
      }
    });
  }
  return {
    seriesNumber,
    chunk,
    count,
    firstStep: summary.firstStep,
    lastStep: summary.lastStep,
    firstValue: summary.firstValue,
    lastValue: summary.lastValue,
    minValue: summary.minValue,
    maxValue: summary.maxValue,
    sumValue: summary.sum,
    minStep: summary.minStep < 0 ? null : summary.minStep,
    maxStep: summary.maxStep < 0 ? null : summary.maxStep,
    nonFiniteStep: summary.gapStep < 0 ? null : summary.gapStep,
    stepOffsets,
    pointValues,
    wallTimes,
    m4Fine: bucketRows(points, FINE_WIDTH),
    m4Coarse: bucketRows(points, COARSE_WIDTH),
  };
}

/** Whether two stored values are the same bits' worth: NaN equals NaN, -0 differs from 0. */
export function sameValue(a: number, b: number): boolean {
  return Object.is(a, b);
}

/** What appending to a stored chunk needs of it: its summary and M4 rows, not its points. */
export type ChunkHead = Pick<
  ChunkRow,
  | "seriesNumber"
  | "chunk"
  | "count"
  | "firstStep"
  | "lastStep"
  | "firstValue"
  | "lastValue"
  | "minValue"
  | "maxValue"
  | "sumValue"
  | "minStep"
  | "maxStep"
  | "nonFiniteStep"
  | "m4Fine"
  | "m4Coarse"
> & { dense: boolean; hasWallTimes: boolean };

/** How an appended chunk's buffer changes: stays null, is set to the bytes given, or has them appended. */
export const BufferChange = { Null: 0, Set: 1, Append: 2 } as const;
export type BufferChange = (typeof BufferChange)[keyof typeof BufferChange];

/** A stored chunk with points appended after its last step: its new summary, M4 rows and the buffers' changes. */
export type ChunkAppend = Omit<ChunkRow, "stepOffsets" | "pointValues" | "wallTimes"> & {
  offsets: { change: BufferChange; bytes: Uint8Array | null };
  values: Uint8Array;
  wallTimes: { change: BufferChange; bytes: Uint8Array | null };
};

/** Two M4 rows of consecutive points (`later` after `earlier`) as one: the rules of summarizeRange. */
function mergeRows(earlier: M4Row, later: M4Row): M4Row {
  const laterMin = later.minStep >= 0 && (earlier.minStep < 0 || later.minValue < earlier.minValue);
  const laterMax = later.maxStep >= 0 && (earlier.maxStep < 0 || later.maxValue >= earlier.maxValue);
  return {
    firstStep: earlier.firstStep,
    lastStep: later.lastStep,
    minStep: laterMin ? later.minStep : earlier.minStep,
    maxStep: laterMax ? later.maxStep : earlier.maxStep,
    gapStep: earlier.gapStep >= 0 ? earlier.gapStep : later.gapStep,
    count: earlier.count + later.count,
    firstValue: earlier.firstValue,
    lastValue: later.lastValue,
    minValue: laterMin ? later.minValue : earlier.minValue,
    maxValue: laterMax ? later.maxValue : earlier.maxValue,
  };
}

function encodeRows(rows: M4Row[]): Uint8Array {
  const bytes = new Uint8Array(rows.length * M4_ROW_BYTES);
  const view = viewOf(bytes);
  for (let index = 0; index < rows.length; index++) writeM4(view, index * M4_ROW_BYTES, rows[index]!);
  return bytes;
}

function rowsOf(points: readonly StoredPoint[], width: number): M4Row[] {
  const rows: M4Row[] = [];
  let start = 0;
  while (start < points.length) {
    const bucket = Math.floor(points[start]!.step / width);
    let end = start + 1;
    while (end < points.length && Math.floor(points[end]!.step / width) === bucket) end++;
    rows.push(summarizeRange(points, start, end));
    start = end;
  }
  return rows;
}

/**
 * One level's M4 rows after an append, by the rule of encodeChunk; undefined when they cannot be
 * told without the stored points (the level was not kept and the chunk's points are not all steps).
 */
function appendedLevel(
  head: ChunkHead,
  stored: Uint8Array | null,
  points: readonly StoredPoint[],
  width: number,
): Uint8Array | null | undefined {
  const count = head.count + points.length;
  const added = rowsOf(points, width);
  if (stored === null) {
    if (!head.dense) return undefined;
    const storedBuckets = Math.floor(head.lastStep / width) - Math.floor(head.firstStep / width) + 1;
    const shared = Math.floor(head.lastStep / width) === Math.floor(points[0]!.step / width) ? 1 : 0;
    return count < POINTS_PER_KEPT_BUCKET * (storedBuckets + added.length - shared) ? null : undefined;
  }
  const rows = decodeM4Rows(stored);
  const last = rows.at(-1)!;
  if (Math.floor(last.firstStep / width) === Math.floor(added[0]!.firstStep / width))
    rows[rows.length - 1] = mergeRows(last, added.shift()!);
  rows.push(...added);
  return count < POINTS_PER_KEPT_BUCKET * rows.length ? null : encodeRows(rows);
}

function wallTimeBytes(points: readonly StoredPoint[], absentBefore: number): Uint8Array {
  const bytes = new Uint8Array((absentBefore + points.length) * 8);
  const view = viewOf(bytes);
  for (let index = 0; index < absentBefore; index++) {
    view.setUint32(index * 8, WALL_TIME_ABSENT_HIGH);
    view.setUint32(index * 8 + 4, WALL_TIME_ABSENT_LOW);
  }
  points.forEach((point, offset) => {
    const at = (absentBefore + offset) * 8;
    if (point.wallTime !== null) view.setFloat64(at, point.wallTime);
    else {
      view.setUint32(at, WALL_TIME_ABSENT_HIGH);
      view.setUint32(at + 4, WALL_TIME_ABSENT_LOW);
    }
  });
  return bytes;
}

/**
 * A stored chunk with `points` (in step order, all after its last step) appended: the same row
 * encodeChunk would write for all its points (sumValue aside: a sum in another order), computed
 * from its summary alone; null when that needs its points (a level it did not keep may now be kept).
 */
export function appendChunk(head: ChunkHead, points: readonly StoredPoint[]): ChunkAppend | null {
  const m4Fine = appendedLevel(head, head.m4Fine, points, FINE_WIDTH);
  const m4Coarse = appendedLevel(head, head.m4Coarse, points, COARSE_WIDTH);
  if (m4Fine === undefined || m4Coarse === undefined) return null;
  const added = summarizeRange(points, 0, points.length);
  const merged = mergeRows(
    {
      firstStep: head.firstStep,
      lastStep: head.lastStep,
      minStep: head.minStep ?? -1,
      maxStep: head.maxStep ?? -1,
      gapStep: head.nonFiniteStep ?? -1,
      count: head.count,
      firstValue: head.firstValue,
      lastValue: head.lastValue,
      minValue: head.minValue,
      maxValue: head.maxValue,
    },
    added,
  );
  const base = head.chunk * CHUNK_STEPS;
  const stillDense =
    head.dense && points[0]!.step === head.lastStep + 1 && added.lastStep - added.firstStep + 1 === points.length;
  let offsets: ChunkAppend["offsets"] = { change: BufferChange.Null, bytes: null };
  if (!stillDense) {
    const before = head.dense ? head.count : 0;
    const bytes = new Uint8Array((before + points.length) * 2);
    const view = viewOf(bytes);
    for (let index = 0; index < before; index++) view.setUint16(index * 2, head.firstStep + index - base);
    for (let offset = 0; offset < points.length; offset++)
      view.setUint16((before + offset) * 2, points[offset]!.step - base);
    offsets = { change: head.dense ? BufferChange.Set : BufferChange.Append, bytes };
  }
  const values = new Uint8Array(points.length * 8);
  const valueView = viewOf(values);
  for (let index = 0; index < points.length; index++) valueView.setFloat64(index * 8, points[index]!.value);
  const anyWallTime = points.some((point) => point.wallTime !== null);
  const wallTimes: ChunkAppend["wallTimes"] = head.hasWallTimes
    ? { change: BufferChange.Append, bytes: wallTimeBytes(points, 0) }
    : anyWallTime
      ? { change: BufferChange.Set, bytes: wallTimeBytes(points, head.count) }
      : { change: BufferChange.Null, bytes: null };
  return {
    seriesNumber: head.seriesNumber,
    chunk: head.chunk,
    count: merged.count,
    firstStep: merged.firstStep,
    lastStep: merged.lastStep,
    firstValue: merged.firstValue,
    lastValue: merged.lastValue,
    minValue: merged.minValue,
    maxValue: merged.maxValue,
    sumValue: head.sumValue + added.sum,
    minStep: merged.minStep < 0 ? null : merged.minStep,
    maxStep: merged.maxStep < 0 ? null : merged.maxStep,
    nonFiniteStep: merged.gapStep < 0 ? null : merged.gapStep,
    offsets,
    values,
    wallTimes,
    m4Fine,
    m4Coarse,
  };
}

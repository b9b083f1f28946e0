import { maskedCrc32c } from "./crc32c.ts";
import { MAX_KEY_LENGTH, MAX_STEP, type ImportIssue } from "./import-issue.ts";
import { WIRE, WireError, WireReader } from "./protobuf-wire.ts";

/**
 * Scalars from one TensorBoard event file: TFRecord framing (uint64 length, masked CRC-32C of the
 * length, the data, masked CRC-32C of the data), each record a tensorflow.Event. A scalar is a
 * Summary.Value with simple_value (TF1, PyTorch, tensorboardX) or a one-element float or double
 * tensor (TF2's tf.summary.scalar). Images, histograms, text and graphs are passed over.
 * A record that fails its checksum is reported with its byte offset and skipped.
 */

export type ScalarEvent = { tag: string; step: number; value: number; wallTime: number };
export type TfEventsFile = { scalars: ScalarEvent[]; records: number; issues: ImportIssue[] };

const HEADER_BYTES = 12;
const FOOTER_BYTES = 4;

// tensorflow/core/framework/types.proto
const DT_FLOAT = 1;
const DT_DOUBLE = 2;

type SummaryValue = { tag: string; value: number | null };

/** The one element of a scalar TensorProto, or null for anything else. */
function tensorScalar(bytes: Uint8Array): number | null {
  const reader = new WireReader(bytes);
  let dtype = 0;
  let elements = 1;
  let content: Uint8Array | null = null;
  const floats: number[] = [];
  const doubles: number[] = [];
  while (!reader.done()) {
    const { number, wire } = reader.field();
    if (number === 1 && wire === WIRE.varint) dtype = Number(reader.varint());
    else if (number === 2 && wire === WIRE.bytes) elements = shapeElements(reader.lengthDelimited());
    else if (number === 4 && wire === WIRE.bytes) content = reader.lengthDelimited();
    else if (number === 5) reader.floats(wire, floats);
    else if (number === 6) reader.doubles(wire, doubles);
    else reader.skip(wire);
  }
  if (elements !== 1) return null;
  if (dtype === DT_FLOAT) {
    if (floats.length === 1) return floats[0]!;
    if (floats.length === 0 && content?.length === 4)
      return new DataView(content.buffer, content.byteOffset, 4).getFloat32(0, true);
  } else if (dtype === DT_DOUBLE) {
    if (doubles.length === 1) return doubles[0]!;
    if (doubles.length === 0 && content?.length === 8)
      return new DataView(content.buffer, content.byteOffset, 8).getFloat64(0, true);
  }
  return null;
}

/** How many elements a TensorShapeProto holds; -1 when unknown. */
function shapeElements(bytes: Uint8Array): number {
  const reader = new WireReader(bytes);
  let elements = 1;
  while (!reader.done()) {
    const { number, wire } = reader.field();
    if (number === 2 && wire === WIRE.bytes) {
      const dim = new WireReader(reader.lengthDelimited());
      let size = 0n;
      while (!dim.done()) {
        const field = dim.field();
        if (field.number === 1 && field.wire === WIRE.varint) size = BigInt.asIntN(64, dim.varint());
        else dim.skip(field.wire);
      }
      if (size < 0n) return -1;
      elements *= Number(size);
    } else if (number === 3 && wire === WIRE.varint) {
      if (reader.varint() !== 0n) return -1; // unknown_rank
    } else reader.skip(wire);
  }
  return elements;
}

function summaryValue(bytes: Uint8Array): SummaryValue {
  const reader = new WireReader(bytes);
  let tag = "";
  let value: number | null = null;
  while (!reader.done()) {
    const { number, wire } = reader.field();
    if (number === 1 && wire === WIRE.bytes) tag = new TextDecoder().decode(reader.lengthDelimited());
    else if (number === 2) {
      reader.expect(wire, WIRE.fixed32, "simple_value");
      value = reader.float();
    } else if (number === 8 && wire === WIRE.bytes) value = tensorScalar(reader.lengthDelimited());
    else reader.skip(wire);
  }
  return { tag, value };
}

/** An Event's wall_time, step and the scalar values of its summary. */
export function decodeEvent(bytes: Uint8Array): { wallTime: number; step: bigint; values: SummaryValue[] } {
  const reader = new WireReader(bytes);
  let wallTime = 0;
  let step = 0n;
  const values: SummaryValue[] = [];
  while (!reader.done()) {
    const { number, wire } = reader.field();
    if (number === 1) {
      reader.expect(wire, WIRE.fixed64, "wall_time");
      wallTime = reader.double();
    } else if (number === 2) {
      reader.expect(wire, WIRE.varint, "step");
      step = BigInt.asIntN(64, reader.varint());
    } else if (number === 5 && wire === WIRE.bytes) {
      const summary = new WireReader(reader.lengthDelimited());
      while (!summary.done()) {
        const field = summary.field();
        if (field.number === 1 && field.wire === WIRE.bytes) values.push(summaryValue(summary.lengthDelimited()));
        else summary.skip(field.wire);
      }
    } else reader.skip(wire);
  }
  return { wallTime, step, values };
}

/** Where a record with a sound header and data starts, searching from `from`; null when none does. */
function nextRecord(bytes: Uint8Array, view: DataView, from: number): number | null {
  for (let at = from; at + HEADER_BYTES + FOOTER_BYTES <= bytes.length; at++) {
    if (maskedCrc32c(bytes.subarray(at, at + 8)) !== view.getUint32(at + 8, true)) continue;
    const length = view.getBigUint64(at, true);
    if (length > BigInt(bytes.length - at - HEADER_BYTES - FOOTER_BYTES)) continue;
    const end = at + HEADER_BYTES + Number(length);
    if (maskedCrc32c(bytes.subarray(at + HEADER_BYTES, end)) === view.getUint32(end, true)) return at;
  }
  return null;
}

export function readTfEvents(bytes: Uint8Array, file: string): TfEventsFile {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const scalars: ScalarEvent[] = [];
  const issues: ImportIssue[] = [];
  let records = 0;
  let outOfRange: { count: number; first: string } | null = null;
  let longTags: { count: number; first: string } | null = null;
  let offset = 0;

  while (offset < bytes.length) {
    if (bytes.length - offset < HEADER_BYTES) {
      issues.push({
        file,
        offset,
        message: `truncated record: ${bytes.length - offset} byte(s) at the end of the file (was it still being written?)`,
      });
      break;
    }
    if (maskedCrc32c(bytes.subarray(offset, offset + 8)) !== view.getUint32(offset + 8, true)) {
      const next = nextRecord(bytes, view, offset + 1);
      issues.push({
        file,
        offset,
        message: `corrupt record: the length's checksum does not match; ${next === null ? "nothing after it could be read" : `skipped ${next - offset} byte(s) to the next sound record`}`,
      });
      if (next === null) break;
      offset = next;
      continue;
    }
    const length = view.getBigUint64(offset, true);
    if (length > BigInt(bytes.length - offset - HEADER_BYTES - FOOTER_BYTES)) {
      issues.push({
        file,
        offset,
        message: `truncated record: it claims ${length} byte(s) but the file ends first (was it still being written?)`,
      });
      break;
    }
    const end = offset + HEADER_BYTES + Number(length);
    const data = bytes.subarray(offset + HEADER_BYTES, end);
    if (maskedCrc32c(data) !== view.getUint32(end, true)) {
      issues.push({
        file,
        offset,
        message: `corrupt record: the data's checksum does not match; skipped ${Number(length)} byte(s)`,
      });
    } else {
      records++;
      try {
        const event = decodeEvent(data);
        for (const { tag, value } of event.values) {
          if (value === null || !tag) continue;
          if (event.step < 0n || event.step > BigInt(MAX_STEP)) {
            outOfRange ??= { count: 0, first: `"${tag}" at step ${event.step}` };
            outOfRange.count++;
          } else if (tag.length > MAX_KEY_LENGTH) {
            longTags ??= { count: 0, first: tag.slice(0, 40) };
            longTags.count++;
          } else scalars.push({ tag, step: Number(event.step), value, wallTime: event.wallTime });
        }
      } catch (error) {
        if (!(error instanceof WireError)) throw error;
        issues.push({ file, offset, message: `not a readable Event (${error.message}); skipped` });
      }
    }
    offset = end + FOOTER_BYTES;
  }

  if (outOfRange)
    issues.push({
      file,
      message: `${outOfRange.count} value(s) skipped: steps must be from 0 to ${MAX_STEP} (first: ${outOfRange.first})`,
    });
  if (longTags)
    issues.push({
      file,
      message: `${longTags.count} value(s) skipped: tags longer than ${MAX_KEY_LENGTH} characters (first: "${longTags.first}...")`,
    });
  return { scalars, records, issues };
}

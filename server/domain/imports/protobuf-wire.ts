/**
 * Just enough of the protobuf wire format to read TensorBoard's Event messages: walk the fields of
 * one message, read scalars, and skip what is not needed. Unknown fields are skipped, as protobuf does.
 */

export class WireError extends Error {
  override name = "WireError";
}

export const WIRE = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;

export class WireReader {
  private position = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  done(): boolean {
    return this.position >= this.bytes.length;
  }

  /** The next field's number and wire type. */
  field(): { number: number; wire: number } {
    const key = this.varint();
    const number = Number(key >> 3n);
    if (number === 0) throw new WireError("field number 0");
    return { number, wire: Number(key & 7n) };
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.position >= this.bytes.length) throw new WireError("truncated varint");
      const byte = this.bytes[this.position++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asUintN(64, result);
    }
    throw new WireError("varint longer than 10 bytes");
  }

  private take(length: number): number {
    if (length < 0 || this.position + length > this.bytes.length)
      throw new WireError("field runs past the end of the message");
    const at = this.position;
    this.position += length;
    return at;
  }

  double(): number {
    return this.view.getFloat64(this.take(8), true);
  }

  float(): number {
    return this.view.getFloat32(this.take(4), true);
  }

  lengthDelimited(): Uint8Array {
    const length = this.varint();
    if (length > BigInt(this.bytes.length)) throw new WireError("field runs past the end of the message");
    const at = this.take(Number(length));
    return this.bytes.subarray(at, at + Number(length));
  }

  skip(wire: number): void {
    if (wire === WIRE.varint) this.varint();
    else if (wire === WIRE.fixed64) this.take(8);
    else if (wire === WIRE.bytes) this.lengthDelimited();
    else if (wire === WIRE.fixed32) this.take(4);
    else throw new WireError(`unsupported wire type ${wire}`);
  }

  /** A `repeated float`, packed (one length-delimited field) or not (one fixed32 per field). */
  floats(wire: number, into: number[]): void {
    if (wire === WIRE.fixed32) into.push(this.float());
    else if (wire === WIRE.bytes) {
      const packed = this.lengthDelimited();
      if (packed.length % 4) throw new WireError("packed floats not a multiple of 4 bytes");
      const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
      for (let at = 0; at < packed.length; at += 4) into.push(view.getFloat32(at, true));
    } else throw new WireError(`float field with wire type ${wire}`);
  }

  /** A `repeated double`, packed or not. */
  doubles(wire: number, into: number[]): void {
    if (wire === WIRE.fixed64) into.push(this.double());
    else if (wire === WIRE.bytes) {
      const packed = this.lengthDelimited();
      if (packed.length % 8) throw new WireError("packed doubles not a multiple of 8 bytes");
      const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
      for (let at = 0; at < packed.length; at += 8) into.push(view.getFloat64(at, true));
    } else throw new WireError(`double field with wire type ${wire}`);
  }

  expect(wire: number, expected: number, name: string): void {
    if (wire !== expected) throw new WireError(`${name} has wire type ${wire}, expected ${expected}`);
  }
}

import type { TrainerState } from "./train-cell.ts";

type Tensors = TrainerState["variables"];

/** A checkpoint as bytes: a 4-byte header length, a JSON header, then every tensor's float32 values. */
export function encodeCheckpoint(state: TrainerState): Uint8Array {
  const tensorLayout = (tensors: Tensors) =>
    tensors.map((tensor) => ({ name: tensor.name, shape: tensor.shape, length: tensor.values.length }));
  const header = new TextEncoder().encode(
    JSON.stringify({
      format: 1,
      step: state.step,
      elapsedSeconds: state.elapsedSeconds,
      ...(state.clock ? { clock: state.clock } : {}),
      bestValLoss: state.bestValLoss,
      variables: tensorLayout(state.variables),
      optimizer: tensorLayout(state.optimizer),
    }),
  );
  const tensors = [...state.variables, ...state.optimizer];
  const floats = tensors.reduce((sum, tensor) => sum + tensor.values.length, 0);
  const padding = (4 - ((4 + header.length) % 4)) % 4;
  const bytes = new Uint8Array(4 + header.length + padding + floats * 4);
  new DataView(bytes.buffer).setUint32(0, header.length + padding, true);
  bytes.set(header, 4);
  bytes.fill(0x20, 4 + header.length, 4 + header.length + padding);
  const body = new Float32Array(bytes.buffer, 4 + header.length + padding, floats);
  let offset = 0;
  for (const tensor of tensors) {
    body.set(tensor.values, offset);
    offset += tensor.values.length;
  }
  return bytes;
}

export function decodeCheckpoint(bytes: Uint8Array): TrainerState {
  const copy = new Uint8Array(bytes);
  const headerLength = new DataView(copy.buffer).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(copy.subarray(4, 4 + headerLength))) as {
    format: number;
    step: number;
    elapsedSeconds: number;
    clock?: TrainerState["clock"];
    bestValLoss: number | null;
    variables: { name: string; shape: number[]; length: number }[];
    optimizer: { name: string; shape: number[]; length: number }[];
  };
  if (header.format !== 1) throw new Error(`unknown checkpoint format ${header.format}`);
  let offset = 4 + headerLength;
  const read = (entries: typeof header.variables) =>
    entries.map((entry) => {
      const values = new Float32Array(copy.buffer.slice(offset, offset + entry.length * 4));
      offset += entry.length * 4;
      return { name: entry.name, shape: entry.shape, values };
    });
  const variables = read(header.variables);
  const optimizer = read(header.optimizer);
  return {
    step: header.step,
    elapsedSeconds: header.elapsedSeconds,
    ...(header.clock ? { clock: header.clock } : {}),
    bestValLoss: header.bestValLoss,
    variables,
    optimizer,
  };
}

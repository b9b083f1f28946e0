import type * as tfType from "@tensorflow/tfjs";

type Tf = typeof tfType;
type TensorInfo = tfType.TensorInfo;

/**
 * The wasm backend's matMul is 10-25x slower when an operand is transposed (backprop does that
 * for every dense layer). Transposing explicitly first and then multiplying plainly gives the same
 * numbers 4-7x faster at width 512 (ENVIRONMENT.md), so BatchMatMul is re-registered that way.
 */
export function patchWasmTransposedMatMul(tf: Tf): void {
  const original = tf.getKernel("BatchMatMul", "wasm");
  const transpose = tf.getKernel("Transpose", "wasm");
  if (!original || !transpose) return;
  if ((original as { scaleboardPatched?: boolean }).scaleboardPatched) return;
  const swapLastTwo = (x: TensorInfo, backend: unknown): TensorInfo => {
    const rank = x.shape.length;
    const perm = [...Array(rank).keys()];
    [perm[rank - 1], perm[rank - 2]] = [perm[rank - 2]!, perm[rank - 1]!];
    return transpose.kernelFunc({ inputs: { x }, backend: backend as never, attrs: { perm } }) as TensorInfo;
  };
  tf.unregisterKernel("BatchMatMul", "wasm");
  const kernel = {
    kernelName: "BatchMatMul",
    backendName: "wasm",
    scaleboardPatched: true,
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
    kernelFunc: ({
      inputs,
      backend,
      attrs,
    }: {
      inputs: Record<string, TensorInfo>;
      backend: unknown;
      attrs: Record<string, unknown>;
    }) => {
      const a = inputs.a!;
      const b = inputs.b!;
      if (!attrs.transposeA && !attrs.transposeB)
        return original.kernelFunc({ inputs, backend: backend as never, attrs: attrs as never });
      const aPlain = attrs.transposeA ? swapLastTwo(a, backend) : a;
      const bPlain = attrs.transposeB ? swapLastTwo(b, backend) : b;
      const result = original.kernelFunc({
        inputs: { ...inputs, a: aPlain, b: bPlain },
        backend: backend as never,
        attrs: { ...attrs, transposeA: false, transposeB: false } as never,
      });
      const owner = backend as { disposeData: (dataId: object) => void };
      if (aPlain !== a) owner.disposeData(aPlain.dataId);
      if (bPlain !== b) owner.disposeData(bPlain.dataId);
      return result;
    },
  };
  tf.registerKernel(kernel as never);
}

import { createRequire } from "node:module";
import path from "node:path";
import type * as tfType from "@tensorflow/tfjs";
import { env } from "../../server/env.ts";
import { patchWasmTransposedMatMul } from "./wasm-matmul.ts";

export type Tf = typeof tfType;
export type BackendName = "tfjs-node-gpu" | "tfjs-node" | "wasm" | "cpu";
export type BackendPreference = BackendName | "auto";
export const BACKEND_ORDER: BackendName[] = ["tfjs-node-gpu", "tfjs-node", "wasm", "cpu"];

export type LoadedBackend = {
  tf: Tf;
  name: BackendName;
  tfjsVersion: string;
  tried: { name: BackendName; error: string }[];
};

const require = createRequire(import.meta.url);

async function tryBackend(name: BackendName): Promise<Tf> {
  if (name === "tfjs-node-gpu" || name === "tfjs-node") {
    // Optional packages: they download libtensorflow at install, which fails without network,
    // and npm then drops them; importing them fails and we fall back.
    const tf = (await import(name === "tfjs-node" ? "@tensorflow/tfjs-node" : "@tensorflow/tfjs-node-gpu")) as Tf;
    await tf.ready();
    if (tf.getBackend() !== "tensorflow") throw new Error(`${name} loaded but the backend is ${tf.getBackend()}`);
    return tf;
  }
  const tf = await import("@tensorflow/tfjs");
  if (name === "wasm") {
    // In Node the wasm backend loads its single-threaded SIMD build (WASM_HAS_MULTITHREAD_SUPPORT is
    // false there), so a training process uses one core and a worker's slots scale by process.
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    wasm.setWasmPaths(`${path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"))}/`);
    if (!(await tf.setBackend("wasm"))) throw new Error("the wasm backend did not initialise");
    patchWasmTransposedMatMul(tf);
  } else if (!(await tf.setBackend("cpu"))) {
    throw new Error("the cpu backend did not initialise");
  }
  await tf.ready();
  return tf;
}

/**
 * Loads the first backend that works: the preference (TF_BACKEND env, else the spec's
 * resources.backend) or, for auto, tfjs-node-gpu, tfjs-node, wasm, cpu in that order.
 */
export async function loadBackend(preference: BackendPreference = "auto"): Promise<LoadedBackend> {
  const wanted = env().TF_BACKEND ?? preference;
  if (wanted !== "auto" && !BACKEND_ORDER.includes(wanted)) {
    throw new Error(`TF_BACKEND must be one of auto, ${BACKEND_ORDER.join(", ")} (got ${wanted})`);
  }
  const order = wanted === "auto" ? BACKEND_ORDER : [wanted, ...BACKEND_ORDER.filter((name) => name !== wanted)];
  const tried: LoadedBackend["tried"] = [];
  for (const name of order) {
    try {
      const tf = await tryBackend(name);
      return { tf, name, tfjsVersion: tf.version.tfjs ?? tf.version["tfjs-core"] ?? "unknown", tried };
    } catch (error) {
      tried.push({ name, error: (error as Error).message.split("\n")[0] ?? String(error) });
    }
  }
  throw new Error(
    `No TensorFlow.js backend could be loaded: ${tried.map((entry) => `${entry.name}: ${entry.error}`).join("; ")}`,
  );
}

// Generates examples/data/linear-regression.csv: 100 rows, features x1..x10, target y.
//
// The seed article's linear regression computed predictions as X * theta (elementwise), which
// only "works" by broadcasting accident; the intended model is the matrix product X @ theta.
// The data here is made with the product:
//
//   y = X @ theta_true + 0.1 * noise,   X[i][j] ~ N(0, 1),   noise ~ N(0, 1)
//
//   theta_true = [1.5, -2.0, 0.5, 0.0, 3.0, -1.0, 0.25, 2.0, -0.75, 1.0]
//
// There is no bias term (the true intercept is 0). Deterministic: a seeded mulberry32 PRNG
// with Box-Muller normals, so rerunning reproduces the committed CSV byte for byte.
//
// Run:  node examples/data/make-linear-regression.mjs [out.csv]
// (without an argument it rewrites linear-regression.csv next to this script).

import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROWS = 100;
const THETA_TRUE = [1.5, -2.0, 0.5, 0.0, 3.0, -1.0, 0.25, 2.0, -0.75, 1.0];
const NOISE = 0.1;
const SEED = 20240601;

/** mulberry32: a small, well-known 32-bit PRNG; returns floats in [0, 1). */
function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const uniform = mulberry32(SEED);
/** A standard normal by Box-Muller (1 - u keeps log away from 0). */
function normal() {
  const u = 1 - uniform();
  const v = uniform();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

const round = (value) => Number(value.toFixed(6));
const header = [...THETA_TRUE.map((_, index) => `x${index + 1}`), "y"];
const lines = [header.join(",")];
for (let row = 0; row < ROWS; row++) {
  const x = THETA_TRUE.map(() => round(normal()));
  // X @ theta: the dot product of this row with theta_true (not an elementwise product).
  const dot = x.reduce((sum, value, index) => sum + value * THETA_TRUE[index], 0);
  const y = round(dot + NOISE * normal());
  lines.push([...x, y].join(","));
}

const out = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), "linear-regression.csv");
writeFileSync(out, `${lines.join("\n")}\n`);
console.log(`wrote ${ROWS} rows to ${out}`);

import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";

/** A seeded random source for data generation, splits and batch order, so a run is reproducible. */
export class Random {
  private readonly generator;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    this.generator = xoroshiro128plus(seed);
  }

  uniform(): number {
    return uniformFloat64(this.generator);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    if (this.spareNormal !== null) {
      const value = this.spareNormal;
      this.spareNormal = null;
      return value;
    }
    const u = Math.max(this.uniform(), Number.MIN_VALUE);
    const v = this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }

  int(below: number): number {
    return Math.min(below - 1, Math.floor(this.uniform() * below));
  }

  /** Fisher-Yates shuffle of 0..n-1. */
  permutation(n: number): Int32Array {
    const order = Int32Array.from({ length: n }, (_, index) => index);
    for (let index = n - 1; index > 0; index--) {
      const other = this.int(index + 1);
      [order[index], order[other]] = [order[other]!, order[index]!];
    }
    return order;
  }
}

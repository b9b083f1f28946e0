import type { Training } from "../../server/domain/spec/spec-schema.ts";
import type { Tf } from "./backend.ts";

type Optimizer = ReturnType<Tf["train"]["adam"]> | ReturnType<Tf["train"]["sgd"]> | ReturnType<Tf["train"]["momentum"]>;

export type TrainingOptimizer = { optimizer: Optimizer; setLearningRate: (lr: number) => void; weightDecay: number };

/** gd and sgd: plain steps (with momentum when set); adam; adamw: adam with decoupled weight decay. */
export function createOptimizer(tf: Tf, training: Training): TrainingOptimizer {
  const { kind, lr, momentum, beta1, beta2, epsilon, weightDecay } = training.optimizer;
  if (kind === "adam" || kind === "adamw") {
    const optimizer = tf.train.adam(lr, beta1, beta2, epsilon);
    return {
      optimizer,
      // Adam reads its learning rate on every step; tfjs types the field protected and offers no setter.
      setLearningRate: (value) => ((optimizer as unknown as { learningRate: number }).learningRate = value),
      weightDecay: kind === "adamw" ? weightDecay : 0,
    };
  }
  const optimizer = momentum > 0 ? tf.train.momentum(lr, momentum) : tf.train.sgd(lr);
  return { optimizer, setLearningRate: (value) => optimizer.setLearningRate(value), weightDecay: 0 };
}

/** The learning rate at a step: constant, linear warm-up, or warm-up then cosine decay to minLrRatio. */
export function learningRateAt(training: Training, step: number, totalSteps: number | null): number {
  const { lr } = training.optimizer;
  const { kind, warmupSteps, minLrRatio } = training.schedule;
  if (kind === "constant") return lr;
  if (warmupSteps > 0 && step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
  if (kind === "warmup" || !totalSteps) return lr;
  const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
  return lr * (minLrRatio + (1 - minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

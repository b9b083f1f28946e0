import type { Model } from "../../server/domain/spec/spec-schema.ts";
import type { Tf } from "./backend.ts";
import type { PreparedData } from "./datasets.ts";

type Tensor = ReturnType<Tf["tensor"]>;
type Variable = ReturnType<Tf["variable"]>;

/** A model as named variables and a forward pass, written with tfjs ops so every family trains the same way. */
export type TrainableModel = {
  variables: Variable[];
  /** Variables that weight decay applies to (matrices, not biases or norms). */
  decayed: Set<Variable>;
  forward: (x: Tensor, training: boolean, step: number) => Tensor;
  paramCount: number;
  dispose: () => void;
};

// tfjs variable names are global while they live; each model instance gets its own prefix.
let instances = 0;

class Builder {
  readonly variables: Variable[] = [];
  readonly decayed = new Set<Variable>();
  private count = 0;
  private readonly instance = ++instances;

  constructor(
    private readonly tf: Tf,
    private readonly seed: number,
  ) {}

  private add(name: string, value: Tensor, decay: boolean): Variable {
    const variable = this.tf.variable(value, true, `m${this.instance}/${name}_${this.variables.length}`);
    value.dispose();
    this.variables.push(variable);
    if (decay) this.decayed.add(variable);
    return variable;
  }

  normal(name: string, shape: number[], std: number): Variable {
    this.count += 1;
    return this.add(name, this.tf.randomNormal(shape, 0, std, "float32", this.seed * 7919 + this.count), true);
  }

  zeros(name: string, shape: number[], decay = false): Variable {
    return this.add(name, this.tf.zeros(shape), decay);
  }

  ones(name: string, shape: number[]): Variable {
    return this.add(name, this.tf.ones(shape), false);
  }
}

function activate(tf: Tf, x: Tensor, activation: string): Tensor {
  switch (activation) {
    case "relu":
      return tf.relu(x);
    case "tanh":
      return tf.tanh(x);
    case "sigmoid":
      return tf.sigmoid(x);
    case "gelu":
      // tanh approximation (Hendrycks & Gimpel); tfjs has no gelu op.
      return tf.mul(
        tf.mul(x, 0.5),
        tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))),
      );
    default:
      return x;
  }
}

function layerNorm(tf: Tf, x: Tensor, gamma: Variable, beta: Variable): Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta);
}

type DenseLayer = { w: Variable; b: Variable };
function dense(builder: Builder, name: string, fanIn: number, fanOut: number, gain = 1): DenseLayer {
  return {
    w: builder.normal(`${name}_w`, [fanIn, fanOut], gain / Math.sqrt(fanIn)),
    b: builder.zeros(`${name}_b`, [fanOut]),
  };
}
const applyDense = (tf: Tf, x: Tensor, layer: DenseLayer) => tf.add(tf.matMul(x, layer.w), layer.b);

/**
 * Embedding lookup as one-hot x table: the wasm backend has no gradient for gather
 * (UnsortedSegmentSum), and with a 27-character vocabulary the matmul costs next to nothing.
 * Returns [tokens, width].
 */
const embed = (tf: Tf, ids: Tensor, table: Variable, vocab: number) =>
  tf.matMul(tf.reshape(tf.oneHot(tf.cast(ids, "int32"), vocab), [-1, vocab]), table);

/** Builds a model for the data: sizes from the spec, inputs and outputs from the dataset. Seeded. */
export function buildModel(tf: Tf, spec: Model, data: PreparedData, seed: number): TrainableModel {
  const builder = new Builder(tf, seed);
  const inputs = data.xShape[0]!;
  const outputs = data.task === "regression" ? data.yShape[0]! : data.classes!;
  let forward: TrainableModel["forward"];

  switch (spec.family) {
    case "linear": {
      // Zero initial weights, as in the seed article's gradient descent.
      const layer = {
        w: builder.zeros("linear_w", [inputs, outputs], true),
        b: spec.bias ? builder.zeros("linear_b", [outputs]) : null,
      };
      forward = (x) => (layer.b ? tf.add(tf.matMul(x, layer.w), layer.b) : tf.matMul(x, layer.w));
      break;
    }
    case "mlp": {
      const gain = spec.activation === "relu" || spec.activation === "gelu" ? Math.SQRT2 : 1;
      const hidden = Array.from({ length: spec.depth }, (_, index) => ({
        dense: dense(builder, `hidden${index}`, index === 0 ? inputs : spec.width, spec.width, gain),
        norm: spec.layerNorm
          ? { gamma: builder.ones(`ln${index}_g`, [spec.width]), beta: builder.zeros(`ln${index}_b`, [spec.width]) }
          : null,
      }));
      const head = dense(builder, "head", spec.width, outputs);
      forward = (x, training, step) => {
        let h = x;
        hidden.forEach((layer, index) => {
          h = activate(tf, applyDense(tf, h, layer.dense), spec.activation);
          if (layer.norm) h = layerNorm(tf, h, layer.norm.gamma, layer.norm.beta);
          if (training && spec.dropout > 0)
            h = tf.dropout(h, spec.dropout, undefined, seed * 100_003 + step * 31 + index);
        });
        return applyDense(tf, h, head);
      };
      break;
    }
    case "char-mlp": {
      const vocab = data.classes!;
      const table = builder.normal("embedding", [vocab, spec.embedding], 1);
      const gain = spec.activation === "relu" || spec.activation === "gelu" ? Math.SQRT2 : 1;
      const hidden = Array.from({ length: spec.depth }, (_, index) =>
        dense(builder, `hidden${index}`, index === 0 ? spec.context * spec.embedding : spec.hidden, spec.hidden, gain),
      );
      const head = dense(builder, "head", spec.hidden, vocab, 0.1);
      forward = (x) => {
        let h: Tensor = tf.reshape(embed(tf, x, table, vocab), [-1, spec.context * spec.embedding]);
        for (const layer of hidden) h = activate(tf, applyDense(tf, h, layer), spec.activation);
        return applyDense(tf, h, head);
      };
      break;
    }
    case "transformer": {
      const vocab = data.classes!;
      const d = spec.dModel;
      const heads = spec.heads;
      const headSize = d / heads;
      const context = spec.context;
      const tokenEmbedding = builder.normal("tok", [vocab, d], 0.02);
      const positionEmbedding = builder.normal("pos", [context, d], 0.02);
      const blocks = Array.from({ length: spec.layers }, (_, index) => ({
        ln1: { gamma: builder.ones(`b${index}_ln1_g`, [d]), beta: builder.zeros(`b${index}_ln1_b`, [d]) },
        q: dense(builder, `b${index}_q`, d, d),
        k: dense(builder, `b${index}_k`, d, d),
        v: dense(builder, `b${index}_v`, d, d),
        o: dense(builder, `b${index}_o`, d, d, 1 / Math.sqrt(2 * spec.layers)),
        ln2: { gamma: builder.ones(`b${index}_ln2_g`, [d]), beta: builder.zeros(`b${index}_ln2_b`, [d]) },
        up: dense(builder, `b${index}_up`, d, spec.mlpRatio * d, Math.SQRT2),
        down: dense(builder, `b${index}_down`, spec.mlpRatio * d, d, 1 / Math.sqrt(2 * spec.layers)),
      }));
      const finalNorm = { gamma: builder.ones("lnf_g", [d]), beta: builder.zeros("lnf_b", [d]) };
      const head = dense(builder, "head", d, vocab);
      const mask = tf.keep(tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([context, context]), -1, 0)), -1e9));
      forward = (x) => {
        const batch = x.shape[0]!;
        let h: Tensor = tf.add(tf.reshape(embed(tf, x, tokenEmbedding, vocab), [batch, context, d]), positionEmbedding);
        const split = (t: Tensor) => tf.transpose(tf.reshape(t, [batch, context, heads, headSize]), [0, 2, 1, 3]);
        for (const block of blocks) {
          const normed = tf.reshape(layerNorm(tf, h, block.ln1.gamma, block.ln1.beta), [batch * context, d]);
          const q = split(applyDense(tf, normed, block.q));
          const k = split(applyDense(tf, normed, block.k));
          const v = split(applyDense(tf, normed, block.v));
          const scores = tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(headSize)), mask);
          const attended = tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores), v), [0, 2, 1, 3]), [
            batch * context,
            d,
          ]);
          h = tf.add(h, tf.reshape(applyDense(tf, attended, block.o), [batch, context, d]));
          const normed2 = tf.reshape(layerNorm(tf, h, block.ln2.gamma, block.ln2.beta), [batch * context, d]);
          const mlp = applyDense(tf, activate(tf, applyDense(tf, normed2, block.up), "gelu"), block.down);
          h = tf.add(h, tf.reshape(mlp, [batch, context, d]));
        }
        const final = tf.reshape(layerNorm(tf, h, finalNorm.gamma, finalNorm.beta), [batch * context, d]);
        return tf.reshape(applyDense(tf, final, head), [batch, context, vocab]);
      };
      break;
    }
  }
  const paramCount = builder.variables.reduce((sum, variable) => sum + variable.size, 0);
  return {
    variables: builder.variables,
    decayed: builder.decayed,
    forward,
    paramCount,
    dispose: () => {
      for (const variable of builder.variables) variable.dispose();
    },
  };
}

/**
 * The spec a new experiment starts from: examples/mlp-width-scaling.yaml, with the project name
 * swapped in when the editor was opened from a project page.
 */
const MLP_WIDTH_SCALING = `# How does validation loss scale with the width of an MLP? Widths 16..1024, 3 seeds each.
project: Scaling laws
experiment: mlp-width
description: MLP width sweep on a synthetic teacher-network regression task.
dataset:
  kind: teacher
  inputs: 16
  outputs: 1
  hidden: 64
  samples: 8192
  noise: 0.05
model:
  family: mlp
  depth: 2
  width: 64
  activation: relu
training:
  optimizer: { kind: adam, lr: 0.003 }
  schedule: { kind: cosine, warmupSteps: 20 }
  batchSize: 128
  budget: { steps: 600 }
  evalEvery: 50
  logEvery: 10
metric: { name: val/loss, goal: min }
panels:
  - { kind: curves, metric: val/loss, x: flops, logX: true, logY: true }
  - { kind: scaling, metric: val/loss, x: params }
  - { kind: table, columns: [model.width, paramCount, val/loss] }
sweep:
  parameters:
    model.width: { range: { from: 16, to: 1024, step: 2, log: true } }
  seeds: 3
`;

/** `name` as a YAML plain scalar when it is safe to write one, else double-quoted. */
function yamlString(name: string): string {
  return /^[A-Za-z0-9_][\w .()-]*$/.test(name) && !/\s$/.test(name) ? name : JSON.stringify(name);
}

export function starterSpec(projectName?: string | null): string {
  if (!projectName) return MLP_WIDTH_SCALING;
  return MLP_WIDTH_SCALING.replace(/^project: .*$/m, () => `project: ${yamlString(projectName)}`);
}

import { compileExpression } from "filtrex";

/**
 * Sweep expressions (`where`, `derive`) run in filtrex: arithmetic, comparisons, and/or/not and a
 * few math functions over the cell's settings, with no access to JavaScript objects or globals.
 */
const FUNCTIONS = {
  exp: Math.exp,
  pow: Math.pow,
  log2: Math.log2,
  log10: Math.log10,
  sqrt: Math.sqrt,
  int: Math.trunc,
};

export type CompiledExpression = (variables: Record<string, unknown>) => unknown;

export class ExpressionError extends Error {
  override name = "ExpressionError";
}

export function compileSweepExpression(text: string): CompiledExpression {
  let compiled: (data: Record<string, unknown>) => unknown;
  try {
    compiled = compileExpression(text, { extraFunctions: FUNCTIONS });
  } catch (error) {
    const lines = (error as Error).message.split("\n");
    throw new ExpressionError(`cannot read expression "${text}": ${lines.find((line) => line.startsWith("Expecting")) ?? lines[0]}`);
  }
  return (variables) => {
    let value: unknown;
    try {
      value = compiled(variables);
    } catch (error) {
      const message = (error as Error).message.replace(/[“”]/g, '"');
      throw new ExpressionError(`"${text}": ${message}`);
    }
    if (value instanceof Error) throw new ExpressionError(`"${text}": ${value.message.replace(/[“”]/g, '"')}`);
    return value;
  };
}

import { compileExpression, type Operators } from "filtrex";
import { RE2JS } from "re2js";

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

/**
 * `text ~= pattern` matches with RE2 semantics (re2js): time linear in the text, whatever the
 * pattern, so `"^(a+)+$"` cannot stall a sweep the way JavaScript's backtracking RegExp does.
 * Backreferences and lookaround, which need backtracking, are refused with RE2's message.
 */
function matchesPattern(text: unknown, pattern: unknown): boolean {
  const source = String(pattern);
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(source);
  } catch (error) {
    throw new ExpressionError(
      `~= "${source}" is not a pattern Scaleboard accepts (RE2 syntax: no backreferences or lookaround): ${(error as Error).message}`,
    );
  }
  return compiled.matcher(String(text)).find();
}

// filtrex merges these into its defaults; its typings mark "==" and "!=" required all the same.
const OPERATORS = { "~=": matchesPattern } as Operators;

export function compileSweepExpression(text: string): CompiledExpression {
  let compiled: (data: Record<string, unknown>) => unknown;
  try {
    compiled = compileExpression(text, { extraFunctions: FUNCTIONS, operators: OPERATORS });
  } catch (error) {
    const lines = (error as Error).message.split("\n");
    throw new ExpressionError(
      `cannot read expression "${text}": ${lines.find((line) => line.startsWith("Expecting")) ?? lines[0]}`,
    );
  }
  return (variables) => {
    let value: unknown;
    try {
      value = compiled(variables);
    } catch (error) {
      if (error instanceof ExpressionError) throw new ExpressionError(`"${text}": ${error.message}`);
      const message = (error as Error).message.replace(/[“”]/g, '"');
      throw new ExpressionError(`"${text}": ${message}`);
    }
    if (value instanceof Error) throw new ExpressionError(`"${text}": ${value.message.replace(/[“”]/g, '"')}`);
    return value;
  };
}

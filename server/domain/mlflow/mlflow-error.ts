import { AppError, type AppErrorCode } from "../app-error.ts";

/**
 * MLflow's error codes (mlflow/protos/databricks.proto) with the HTTP status an MLflow tracking
 * server answers them with; the body is always { error_code, message }, which the mlflow client
 * turns into an MlflowException carrying the same code.
 */
export const MLFLOW_ERROR_STATUS = {
  INVALID_PARAMETER_VALUE: 400,
  BAD_REQUEST: 400,
  MALFORMED_REQUEST: 400,
  INVALID_STATE: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  RESOURCE_DOES_NOT_EXIST: 404,
  ENDPOINT_NOT_FOUND: 404,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_LIMIT_EXCEEDED: 413,
  REQUEST_LIMIT_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  NOT_IMPLEMENTED: 501,
  TEMPORARILY_UNAVAILABLE: 503,
} as const;
export type MlflowErrorCode = keyof typeof MLFLOW_ERROR_STATUS;

/** The MLflow code each of the domain's own errors answers with. */
const FROM_APP_ERROR: Record<AppErrorCode, MlflowErrorCode> = {
  NOT_FOUND: "RESOURCE_DOES_NOT_EXIST",
  UNAUTHORIZED: "UNAUTHENTICATED",
  FORBIDDEN: "PERMISSION_DENIED",
  INVALID_INPUT: "INVALID_PARAMETER_VALUE",
  CONFLICT: "INVALID_STATE",
  TOO_LARGE: "RESOURCE_LIMIT_EXCEEDED",
  TOO_MANY_REQUESTS: "REQUEST_LIMIT_EXCEEDED",
  UNAVAILABLE: "TEMPORARILY_UNAVAILABLE",
};

/** An AppError that names its MLflow code where the domain's own code is too coarse (RESOURCE_ALREADY_EXISTS). */
export class MlflowError extends AppError {
  constructor(
    readonly mlflowCode: MlflowErrorCode,
    message: string,
  ) {
    super(mlflowCode === "RESOURCE_DOES_NOT_EXIST" ? "NOT_FOUND" : "INVALID_INPUT", message);
  }
}

export function mlflowCodeOf(error: AppError): MlflowErrorCode {
  return error instanceof MlflowError ? error.mlflowCode : FROM_APP_ERROR[error.code];
}

export function mlflowErrorResponse(code: MlflowErrorCode, message: string, headers: Record<string, string> = {}) {
  return Response.json(
    { error_code: code, message },
    { status: MLFLOW_ERROR_STATUS[code], headers: { "cache-control": "no-store", ...headers } },
  );
}

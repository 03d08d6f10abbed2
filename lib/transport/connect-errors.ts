import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { type ErrorCode, isDroverError } from "../errors/index.ts";

const connectCodes: Record<ErrorCode, Code> = {
  invalid_argument: Code.InvalidArgument,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  resource_exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  deadline_exceeded: Code.DeadlineExceeded,
  internal: Code.Internal,
};

/** Turns a DroverError thrown anywhere below into the matching Connect error. */
export function toConnectError(error: unknown): unknown {
  if (!isDroverError(error)) return error;
  return new ConnectError(error.message, connectCodes[error.code], undefined, undefined, error);
}

async function* mapStreamErrors<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    throw toConnectError(error);
  }
}

/** Applies toConnectError to unary results and to errors raised mid-stream. */
export const droverErrorInterceptor: Interceptor = (next) => async (request) => {
  try {
    const response = await next(request);
    return response.stream ? { ...response, message: mapStreamErrors(response.message) } : response;
  } catch (error) {
    throw toConnectError(error);
  }
};

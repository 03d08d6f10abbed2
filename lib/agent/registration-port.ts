import { Code, ConnectError } from "@connectrpc/connect";
import { DroverError } from "../errors/index.ts";

/**
 * What answered instead of RegistrationService, recognised from the first
 * call's failure: the mTLS binds refuse a client without a certificate, the
 * HTTPS bind answers gRPC with 404 (UNIMPLEMENTED), an HTTP/1.1-only server
 * refuses HTTP/2, and a plain-HTTP port speaks no TLS.
 */
function whatAnswered(error: ConnectError): string | undefined {
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  const text = `${error.rawMessage} ${String(cause?.code ?? "")} ${String(cause?.message ?? "")}`;
  if (/CERTIFICATE_REQUIRED|certificate required/i.test(text))
    return "the agent or operator port: it asks for a client certificate";
  if (error.code === Code.Unimplemented) return "the HTTPS port or another gRPC service";
  if (/h2 is not supported|ERR_HTTP2_ERROR|ALPN|NO_APPLICATION_PROTOCOL/i.test(text))
    return "an HTTPS port that speaks HTTP/1.1 only";
  if (/WRONG_VERSION_NUMBER|wrong version number|packet length too long/i.test(text))
    return "a port without TLS, such as plain HTTP";
  return undefined;
}

/**
 * The first call of a join failed: when it failed because `address` is some
 * other port, an error that says so (before any token was spent); otherwise
 * the error as it was.
 */
export function explainJoinFailure(error: unknown, address: string): unknown {
  if (!(error instanceof ConnectError)) return error;
  const answered = whatAnswered(error);
  if (answered === undefined) return error;
  return new DroverError(
    "failed_precondition",
    `${address} is not Drover's registration port (it looks like ${answered}); ` +
      "the registration port is the one drover server prints as registration (default 8440)",
    { cause: error },
  );
}

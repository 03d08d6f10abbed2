import { request } from "node:https";
import { DroverError, type ErrorCode } from "../lib/errors/index.ts";

/** Whom to trust and who we are: a CA to verify the server, optionally a client certificate. */
export interface TlsOptions {
  /** PEM; required unless `insecure`. */
  ca?: string;
  cert?: string;
  key?: string;
  /** Skip verification: only for fetching the fleet CA before pinning it. */
  insecure?: boolean;
}

export interface HttpResponse {
  status: number;
  text: string;
}

const requestTimeoutMs = 30_000;

/**
 * One HTTP/1.1 request over TLS. A failure to connect (refused, TLS, timeout)
 * is a DroverError "unavailable" whose cause is the socket error.
 */
export function httpsRequest(
  url: URL,
  options: {
    method: string;
    tls: TlsOptions;
    headers?: Record<string, string>;
    body?: string;
    signal?: AbortSignal;
  },
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: "application/json", ...options.headers };
    if (options.body !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = String(Buffer.byteLength(options.body));
    }
    const req = request(
      url,
      {
        method: options.method,
        headers,
        ca: options.tls.ca,
        cert: options.tls.cert,
        key: options.tls.key,
        rejectUnauthorized: !options.tls.insecure,
        agent: false,
        timeout: requestTimeoutMs,
        signal: options.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", (error) => reject(unreachable(url, error)));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${requestTimeoutMs} ms`)));
    req.on("error", (error) => reject(unreachable(url, error)));
    req.end(options.body);
  });
}

function unreachable(url: URL, error: Error): DroverError {
  return new DroverError("unavailable", `cannot reach ${url.origin}: ${error.message}`, {
    cause: error,
  });
}

/** Whether a request failed because the server's certificate did not verify. */
export function isCertificateError(error: unknown): boolean {
  const cause = error instanceof Error ? error.cause : undefined;
  if (!(cause instanceof Error)) return false;
  const code = String((cause as NodeJS.ErrnoException).code ?? "");
  return (
    /CERT|SELF_SIGNED|SIGNATURE|ISSUER|ALTNAME/i.test(code) || /certificate/i.test(cause.message)
  );
}

const codeForStatus: Record<number, ErrorCode> = {
  400: "invalid_argument",
  401: "unauthenticated",
  403: "permission_denied",
  404: "not_found",
  409: "already_exists",
  422: "invalid_argument",
  429: "resource_exhausted",
  503: "unavailable",
};

interface ErrorBody {
  error: {
    code: string;
    message: string;
    details?: { field: string; message: string }[];
  };
}

function isErrorBody(value: unknown): value is ErrorBody {
  const error = (value as { error?: unknown } | null)?.error as Record<string, unknown> | undefined;
  return typeof error?.code === "string" && typeof error.message === "string";
}

/** An error answer as `CODE: message`, one indented line per detail (`field: message`). */
export function errorFromResponse(response: HttpResponse): DroverError {
  const code = codeForStatus[response.status] ?? "internal";
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.text);
  } catch {
    parsed = undefined;
  }
  if (!isErrorBody(parsed)) {
    const text = response.text.trim().slice(0, 200);
    return new DroverError(code, `HTTP ${response.status}${text ? `: ${text}` : ""}`);
  }
  const details = parsed.error.details ?? [];
  const message = `${parsed.error.code}: ${parsed.error.message}`;
  // A detail the message already spells out is not repeated.
  const lines = details
    .map((detail) => `${detail.field}: ${detail.message}`)
    .filter((line) => !message.includes(line))
    .map((line) => `\n  ${line}`);
  return new DroverError(code, `${message}${lines.join("")}`, {
    details: details.map(({ field, message }) => ({ field, message })),
  });
}

/** The JSON of a successful answer (undefined for 204); error answers throw. */
export function jsonFromResponse(response: HttpResponse): unknown {
  if (response.status < 200 || response.status > 299) throw errorFromResponse(response);
  if (response.status === 204 || response.text === "") return undefined;
  try {
    return JSON.parse(response.text);
  } catch {
    throw new DroverError("internal", `the server answered ${response.status} with invalid JSON`);
  }
}

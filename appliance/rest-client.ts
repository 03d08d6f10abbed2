import { DroverError } from "../lib/errors/index.ts";
import { readTextIfExists } from "../lib/files/index.ts";
import { readEndpoints, serverPaths } from "../lib/server/index.ts";
import type { TlsClientOptions } from "../lib/transport/index.ts";
import { type Credentials, readCredentials, writeCredentials } from "./credentials.ts";
import {
  type HttpResponse,
  httpsRequest,
  isCertificateError,
  jsonFromResponse,
  type TlsOptions,
} from "./https.ts";

/** REST /v1 as a client command sees it. */
export interface RestClient {
  /** `path` is below /v1 and may carry a query. Answers the JSON (undefined for 204); errors throw. */
  call(method: string, path: string, body?: unknown): Promise<unknown>;
  /** What opening a WebSocket at `path` (below /v1, with its query) takes, credentials fresh. */
  socket(path: string): Promise<SocketTarget>;
  /** What a gRPC call to the same HTTPS listener takes (the leases' ControllerService and router). */
  grpc(): Promise<GrpcTarget>;
}

/** HOST:PORT of the HTTPS listener, its TLS, and the call metadata that authenticates. */
export interface GrpcTarget {
  address: string;
  tls: TlsClientOptions;
  headers: Record<string, string>;
}

/** A wss:// URL and how to authenticate there (the client certificate, or a bearer token). */
export interface SocketTarget {
  url: URL;
  tls: TlsOptions;
  headers: Record<string, string>;
}

function wss(origin: string, path: string): URL {
  const url = v1(origin, path);
  url.protocol = "wss:";
  return url;
}

/** The `Tokens` answer of POST /v1/auth/login and /v1/auth/refresh. */
interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

function isTokens(value: unknown): value is Tokens {
  const tokens = value as Partial<Tokens> | null;
  return (
    typeof tokens?.access_token === "string" &&
    typeof tokens.refresh_token === "string" &&
    typeof tokens.expires_in === "number"
  );
}

function v1(origin: string, path: string): URL {
  return new URL(`/v1${path}`, origin);
}

/** POST /v1/auth/login → what `drover login` stores. */
export async function logIn(options: {
  server: string;
  caPem: string;
  email: string;
  password: string;
  now: number;
  signal?: AbortSignal;
}): Promise<Credentials> {
  const response = await httpsRequest(v1(options.server, "/auth/login"), {
    method: "POST",
    tls: { ca: options.caPem },
    body: JSON.stringify({ email: options.email, password: options.password }),
    signal: options.signal,
  });
  return credentialsFrom(options.server, options.caPem, jsonFromResponse(response), options.now);
}

function credentialsFrom(server: string, caPem: string, answer: unknown, now: number): Credentials {
  if (!isTokens(answer)) throw new DroverError("internal", "the server answered without tokens");
  return {
    server,
    ca_pem: caPem,
    access_token: answer.access_token,
    refresh_token: answer.refresh_token,
    access_expires_at: new Date(now + answer.expires_in * 1000).toISOString(),
  };
}

function encodeBody(body: unknown): string | undefined {
  return body === undefined ? undefined : JSON.stringify(body);
}

/** Acts as the server's admin: the operator certificate `drover server` keeps in its data dir. */
export async function adminClient(dataDir: string, signal?: AbortSignal): Promise<RestClient> {
  const paths = serverPaths(dataDir);
  const endpoints = await readEndpoints(dataDir);
  const [ca, cert, key] = await Promise.all([
    readTextIfExists(paths.caCertificate),
    readTextIfExists(paths.adminCertificate),
    readTextIfExists(paths.adminKey),
  ]);
  if (ca === undefined || cert === undefined || key === undefined) {
    throw new DroverError(
      "failed_precondition",
      `no admin credential in ${dataDir} (ca.pem, admin.pem, admin.key); is this the server's --data-dir?`,
    );
  }
  const origin = `https://${endpoints.http}`;
  const tls: TlsOptions = { ca, cert, key };
  return {
    async call(method, path, body) {
      const response = await httpsRequest(v1(origin, path), {
        method,
        tls,
        body: encodeBody(body),
        signal,
      }).catch((error: unknown) => {
        if (error instanceof DroverError && error.code === "unavailable") {
          throw new DroverError(
            "unavailable",
            `${error.message}\nIs the server running, and is ${dataDir} its --data-dir?`,
            { cause: error.cause },
          );
        }
        throw error;
      });
      return jsonFromResponse(response);
    },
    async socket(path) {
      return { url: wss(origin, path), tls, headers: {} };
    },
    async grpc() {
      return {
        address: endpoints.http,
        tls: { caPem: ca, certificatePem: cert, privateKeyPem: key },
        headers: {},
      };
    },
  };
}

/** Refresh a little before the access token runs out, not after a refused request. */
const expirySkewMs = 30_000;

const notLoggedIn =
  "not logged in: run drover login --server URL --email EMAIL --password-stdin, or pass --data-dir";

/**
 * Acts as the logged-in user: a bearer token, refreshed through
 * POST /v1/auth/refresh when it has expired or the server answers 401; the
 * new pair is stored at once (the old refresh token dies with its use).
 */
export async function sessionClient(options: {
  configDir: string;
  now: () => number;
  signal?: AbortSignal;
}): Promise<RestClient> {
  const { configDir, now, signal } = options;
  const stored = await readCredentials(configDir);
  if (!stored) throw new DroverError("unauthenticated", notLoggedIn);
  let current: Credentials = stored;

  const send = (method: string, path: string, body?: string, bearer?: string) =>
    httpsRequest(v1(current.server, path), {
      method,
      tls: { ca: current.ca_pem },
      headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
      body,
      signal,
    }).catch((error: unknown) => {
      if (!isCertificateError(error)) throw error;
      throw new DroverError(
        "unavailable",
        `${(error as Error).message}\nThe server's certificate is not from the fleet CA pinned at login; if the fleet was re-created, log in again with --ca FILE (its new ca.pem).`,
        { cause: (error as Error).cause },
      );
    });

  async function refresh(): Promise<void> {
    const used = current.refresh_token;
    const response = await send("POST", "/auth/refresh", JSON.stringify({ refresh_token: used }));
    if (response.status === 401) {
      // Another drover command may have refreshed first: its pair is in the file.
      const latest = await readCredentials(configDir);
      if (latest && latest.server === current.server && latest.refresh_token !== used) {
        current = latest;
        return;
      }
      throw new DroverError(
        "unauthenticated",
        `the session has ended (${jsonError(response)}): run drover login --server ${current.server} --email EMAIL --password-stdin`,
      );
    }
    current = credentialsFrom(current.server, current.ca_pem, jsonFromResponse(response), now());
    await writeCredentials(configDir, current);
  }

  const refreshIfExpiring = async () => {
    if (!(Date.parse(current.access_expires_at) - expirySkewMs > now())) await refresh();
  };

  return {
    async call(method, path, body) {
      const encoded = encodeBody(body);
      await refreshIfExpiring();
      let response: HttpResponse = await send(method, path, encoded, current.access_token);
      if (response.status === 401) {
        await refresh();
        response = await send(method, path, encoded, current.access_token);
      }
      return jsonFromResponse(response);
    },
    async socket(path) {
      await refreshIfExpiring();
      return {
        url: wss(current.server, path),
        tls: { ca: current.ca_pem },
        headers: { authorization: `Bearer ${current.access_token}` },
      };
    },
    async grpc() {
      await refreshIfExpiring();
      return {
        address: new URL(current.server).host,
        tls: { caPem: current.ca_pem },
        headers: { authorization: `Bearer ${current.access_token}` },
      };
    },
  };
}

function jsonError(response: HttpResponse): string {
  try {
    jsonFromResponse(response);
  } catch (error) {
    return (error as Error).message;
  }
  return `HTTP ${response.status}`;
}

const pageSize = 100;

/** Every item of a paginated list (`{ data, meta: { total } }`), page after page. */
export async function listAll(
  client: RestClient,
  path: string,
  query: Record<string, string>,
): Promise<unknown[]> {
  const items: unknown[] = [];
  for (let page = 1; ; page++) {
    const params = new URLSearchParams({
      ...query,
      page: String(page),
      per_page: String(pageSize),
    });
    const answer = (await client.call("GET", `${path}?${params}`)) as {
      data?: unknown[];
      meta?: { total?: number };
    };
    const data = Array.isArray(answer?.data) ? answer.data : [];
    items.push(...data);
    if (data.length === 0 || items.length >= (answer.meta?.total ?? 0)) return items;
  }
}

import { type ApiProblem, cookieValue, parseApiError } from "./api-error.ts";
import { currentPath, navigate } from "./router.ts";

/** Thrown by `api` for any answer that is not 2xx; carries the parsed NxMesh error. */
export class ApiFailure extends Error {
  constructor(readonly problem: ApiProblem) {
    super(problem.message);
  }
}

type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

/** Session endpoints answer 401 for wrong credentials: they never trigger the refresh dance. */
const sessionPaths = new Set(["/v1/auth/session", "/v1/auth/session/refresh"]);

let refreshing: Promise<boolean> | undefined;

/** One refresh at a time: concurrent 401s share it. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= send("POST", "/v1/auth/session/refresh")
    .then((response) => response.ok)
    .catch(() => false)
    .finally(() => {
      refreshing = undefined;
    });
  return refreshing;
}

function send(method: Method, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") {
    const csrf = cookieValue(document.cookie, "drover_csrf");
    if (csrf) headers["X-CSRF-Token"] = csrf;
  }
  return fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function readJson(response: Response): Promise<unknown> {
  if (response.status === 204) return undefined;
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A same-origin call with the session cookies and, on writes, the CSRF header. A 401 tries
 * one refresh and repeats the call; if that fails too the page goes to /login?next=….
 */
export async function api<T>(method: Method, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await send(method, path, body);
    if (response.status === 401 && !sessionPaths.has(path) && (await refreshSession()))
      response = await send(method, path, body);
  } catch {
    throw new ApiFailure(parseApiError(0, undefined));
  }
  const parsed = await readJson(response);
  if (response.ok) return parsed as T;
  const problem = parseApiError(response.status, parsed);
  if (response.status === 401 && !sessionPaths.has(path)) goToLogin();
  throw new ApiFailure(problem);
}

export function goToLogin(): void {
  const here = currentPath();
  if (window.location.pathname === "/login") return;
  navigate(`/login?next=${encodeURIComponent(here)}`, { replace: true });
}

/** Every page of a paginated list (`{data, meta:{total}}`), 100 at a time. */
export async function listAll<T>(path: string): Promise<T[]> {
  const items: T[] = [];
  const separator = path.includes("?") ? "&" : "?";
  for (let page = 1; ; page++) {
    const answer = await api<{ data: T[]; meta: { total: number } }>(
      "GET",
      `${path}${separator}page=${page}&per_page=100`,
    );
    items.push(...answer.data);
    if (answer.data.length === 0 || items.length >= answer.meta.total) return items;
  }
}

export function problemOf(error: unknown): ApiProblem {
  if (error instanceof ApiFailure) return error.problem;
  return parseApiError(0, undefined);
}

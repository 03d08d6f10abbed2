/**
 * JSON over HTTPS with keep-alive (Bun's fetch), for both sides of the lease
 * bench: Drover's REST and etcd's v3 JSON gateway go through this one client,
 * so neither pays a connection setup the other does not.
 */

export interface HttpsJsonOptions {
  /** The CA the server's certificate must chain to. */
  caPem: string;
  /** A client certificate (Drover's operator certificate); none for etcd. */
  certificatePem?: string;
  privateKeyPem?: string;
}

export type JsonPost = (path: string, body: unknown) => Promise<unknown>;

export interface HttpsJson {
  /** POSTs `body` as JSON; the parsed answer, or an error naming the status and body. */
  post: JsonPost;
  /** Any method; the same answer rules. */
  call(method: string, path: string, body?: unknown): Promise<unknown>;
}

export function httpsJson(baseUrl: string, options: HttpsJsonOptions): HttpsJson {
  const tls = {
    ca: options.caPem,
    ...(options.certificatePem ? { cert: options.certificatePem } : {}),
    ...(options.privateKeyPem ? { key: options.privateKeyPem } : {}),
  };
  async function call(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      tls,
      signal: AbortSignal.timeout(10_000),
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    });
    const text = await response.text();
    if (!response.ok)
      throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
    return text === "" ? undefined : JSON.parse(text);
  }
  return { call, post: (path, body) => call("POST", path, body) };
}

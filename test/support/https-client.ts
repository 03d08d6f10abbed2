import { request } from "node:https";

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  text: string;
  /** The body as received (still compressed if the server compressed it). */
  bytes: Buffer;
}

export interface HttpsClientOptions {
  caPem: string;
  certificatePem?: string;
  privateKeyPem?: string;
}

/**
 * A plain node:https client (HTTP/1.1), independent of the server's own code,
 * that trusts only the fleet CA.
 */
export function httpsClient(baseUrl: string, tls: HttpsClientOptions) {
  return function call(
    method: string,
    path: string,
    options: {
      token?: string;
      body?: unknown;
      rawBody?: string;
      headers?: Record<string, string>;
    } = {},
  ): Promise<HttpResult> {
    const payload =
      options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, baseUrl),
        {
          method,
          ca: tls.caPem,
          cert: tls.certificatePem,
          key: tls.privateKeyPem,
          headers: {
            ...(payload === undefined ? {} : { "content-type": "application/json" }),
            ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
            ...options.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const bytes = Buffer.concat(chunks);
            const text = bytes.toString("utf8");
            let body: unknown = text;
            try {
              body = text === "" ? undefined : JSON.parse(text);
            } catch {
              // not JSON: keep the text
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text, bytes });
          });
        },
      );
      req.on("error", reject);
      req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  };
}

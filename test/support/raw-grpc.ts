/**
 * gRPC framed by hand over node:http2, for requests no well-behaved client
 * sends: compressed bombs, oversize or never-finished messages.
 */
import { type ClientHttp2Session, connect, type IncomingHttpHeaders } from "node:http2";
import { constants, createBrotliCompress, createGzip } from "node:zlib";

export interface RawGrpcResult {
  /** grpc-status from the trailers, or from the headers of a trailers-only response. */
  status: number;
  message: string;
  headers: IncomingHttpHeaders;
  /** The response body as sent: 5-byte prefixed messages. */
  body: Buffer;
}

/** An HTTP/2 session to HOST:PORT that trusts only `caPem`, with a client certificate if given. */
export function rawGrpcSession(
  address: string,
  caPem: string,
  client?: { certificatePem: string; keyPem: string },
): ClientHttp2Session {
  const session = connect(`https://${address}`, {
    ca: caPem,
    ...(client === undefined ? {} : { cert: client.certificatePem, key: client.keyPem }),
  });
  session.on("error", () => {});
  return session;
}

/** One length-prefixed gRPC message: flag byte (1 = compressed), length, bytes. */
export function grpcFrame(message: Uint8Array, compressed = false): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt8(compressed ? 1 : 0, 0);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/**
 * Sends one request on `path` and resolves with its status; `body` undefined
 * leaves the request open (headers only, never a message).
 */
export function rawGrpcCall(
  session: ClientHttp2Session,
  path: string,
  body: Buffer | undefined,
  headers: Record<string, string> = {},
): Promise<RawGrpcResult> {
  return new Promise((resolve, reject) => {
    const stream = session.request(
      {
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
        ...headers,
      },
      { endStream: false },
    );
    let responseHeaders: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (received) => {
      responseHeaders = received;
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("trailers", (trailers) => {
      responseHeaders = { ...responseHeaders, ...trailers };
    });
    stream.on("error", reject);
    stream.on("close", () => {
      const status = responseHeaders["grpc-status"];
      if (status === undefined) {
        reject(new Error(`stream closed without grpc-status (RST code ${stream.rstCode})`));
        return;
      }
      resolve({
        status: Number(status),
        message: decodeURIComponent(String(responseHeaders["grpc-message"] ?? "")),
        headers: responseHeaders,
        body: Buffer.concat(chunks),
      });
    });
    if (body !== undefined) stream.end(body);
  });
}

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return bytes;
}

/**
 * A RegisterRequest whose hostname (field 5) is `unpackedBytes` of "a",
 * compressed without ever being held in memory: a few hundred bytes of
 * brotli, or ~1/1000 of its size in gzip, that inflate to `unpackedBytes`.
 */
export async function compressedRegisterBomb(
  encoding: "br" | "gzip",
  unpackedBytes: number,
): Promise<Buffer> {
  const compressor =
    encoding === "br"
      ? createBrotliCompress({
          params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_LGWIN]: 24 },
        })
      : createGzip({ level: 9 });
  const chunks: Buffer[] = [];
  compressor.on("data", (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise((resolve) => compressor.once("end", resolve));
  compressor.write(Buffer.from([0x2a, ...varint(unpackedBytes)]));
  const block = Buffer.alloc(1 << 20, 0x61);
  for (let left = unpackedBytes; left > 0; left -= block.length) {
    const piece = left >= block.length ? block : block.subarray(0, left);
    if (!compressor.write(piece)) await new Promise((resolve) => compressor.once("drain", resolve));
  }
  compressor.end();
  await ended;
  return Buffer.concat(chunks);
}

/** A RegisterRequest whose hostname is `bytes` long: well-formed, only too big. */
export function oversizeRegister(bytes: number): Buffer {
  return Buffer.concat([Buffer.from([0x2a, ...varint(bytes)]), Buffer.alloc(bytes, 0x61)]);
}

/**
 * gRPC's length-prefixed message framing (a 0 flag byte for "not compressed",
 * a 4-byte big-endian length, the message), by hand: the scale bench's
 * simulated agents and bare server hold thousands of streams and must not
 * carry a gRPC library's per-stream objects.
 */

const prefixLength = 5;

export function frameMessage(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(prefixLength + message.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, prefixLength);
  return frame;
}

/**
 * Splits a byte stream into messages: feed it every chunk, it calls
 * `onMessage` once per complete message. A compressed message is refused
 * (the bench asks for none).
 */
export function createFrameReader(
  onMessage: (message: Uint8Array) => void,
): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= prefixLength) {
      if (pending.readUInt8(0) !== 0) throw new Error("a compressed gRPC message");
      const length = pending.readUInt32BE(1);
      if (pending.length < prefixLength + length) return;
      onMessage(pending.subarray(prefixLength, prefixLength + length));
      pending = pending.subarray(prefixLength + length);
    }
  };
}

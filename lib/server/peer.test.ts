// Issue 13, connection admission: the peer (identity, serial) is read from the TLS layer's own certificate object.
import { afterAll, describe, expect, test } from "bun:test";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import * as tls from "node:tls";
import {
  createFleetCA,
  exportPrivateKeyPem,
  generateKeyPair,
  issueClientCertificate,
  issueServerCertificate,
} from "../pki/index.ts";
import { type Peer, peerFromSocket } from "./peer.ts";

const ca = await createFleetCA({ fleetId: "fleet-a" });
const serverKeys = await generateKeyPair();
const serverCertificate = await issueServerCertificate(ca, {
  publicKey: serverKeys.publicKey,
  hostnames: ["localhost"],
  ips: ["127.0.0.1"],
});

// A real TLS server that asks for (but does not require) a client certificate, like the HTTP listener.
const peers: (Peer | undefined)[] = [];
const server = tls.createServer(
  {
    ca: ca.certificatePem,
    cert: serverCertificate.certificatePem,
    key: await exportPrivateKeyPem(serverKeys.privateKey),
    requestCert: true,
    rejectUnauthorized: false,
  },
  (socket) => {
    peers.push(socket.authorized ? peerFromSocket(socket) : undefined);
    // Once per socket: a second read is the cached object.
    expect(peerFromSocket(socket)).toBe(peers.at(-1));
    socket.end();
  },
);
server.listen(0, "127.0.0.1");
await once(server, "listening");
const { port } = server.address() as AddressInfo;
afterAll(() => server.close());

/** Connects with the given client certificate and returns what the server read. */
async function peerSeen(cert?: string, key?: string): Promise<Peer | undefined> {
  const before = peers.length;
  const socket = tls.connect({ host: "127.0.0.1", port, ca: ca.certificatePem, cert, key });
  socket.on("error", () => undefined);
  socket.resume();
  await once(socket, "close");
  expect(peers.length).toBe(before + 1);
  return peers.at(-1);
}

describe("peerFromSocket over a real TLS handshake", () => {
  test("a client certificate yields its identity and the serial the store keys revocation by", async () => {
    const keys = await generateKeyPair();
    const identity = { fleetId: "fleet-a", role: "agent" as const, id: "pi-7" };
    const issued = await issueClientCertificate(ca, { identity, publicKey: keys.publicKey });
    const peer = await peerSeen(issued.certificatePem, await exportPrivateKeyPem(keys.privateKey));
    expect(peer).toEqual({ identity, serial: issued.serial });
  });

  test("no certificate, or one without a drover identity, is anonymous", async () => {
    expect(await peerSeen()).toBeUndefined();
    const keys = await generateKeyPair();
    const noIdentity = await issueServerCertificate(ca, {
      publicKey: keys.publicKey,
      hostnames: ["other.example"],
      ips: [],
    });
    const key = await exportPrivateKeyPem(keys.privateKey);
    expect(await peerSeen(noIdentity.certificatePem, key)).toBeUndefined();
  });
});

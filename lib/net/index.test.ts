// Issue 10, the first hour: the addresses another machine can dial, for the certificate and the printed join command.
import { expect, test } from "bun:test";
import { externalAddresses, isWildcardHost } from "./index.ts";

test("external addresses: no loopback, no IPv6 link-local, IPv4 first, each once", () => {
  expect(
    externalAddresses({
      lo: [
        { address: "127.0.0.1", family: "IPv4", internal: true },
        { address: "::1", family: "IPv6", internal: true },
      ],
      eth0: [
        { address: "fe80::1", family: "IPv6", internal: false },
        { address: "2001:db8::5", family: "IPv6", internal: false },
        { address: "192.168.1.20", family: "IPv4", internal: false },
      ],
      wlan0: [
        { address: "10.0.0.7", family: 4, internal: false },
        { address: "192.168.1.20", family: "IPv4", internal: false },
      ],
      down: undefined,
    }),
  ).toEqual(["192.168.1.20", "10.0.0.7", "2001:db8::5"]);
  expect(
    externalAddresses({ lo: [{ address: "127.0.0.1", family: "IPv4", internal: true }] }),
  ).toEqual([]);
});

test("wildcard hosts are the empty host, 0.0.0.0 and ::", () => {
  expect(["", "0.0.0.0", "::", "127.0.0.1", "localhost"].map(isWildcardHost)).toEqual([
    true,
    true,
    true,
    false,
    false,
  ]);
});

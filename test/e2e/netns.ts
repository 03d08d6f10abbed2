/**
 * A second "machine" for end-to-end tests: a network namespace joined to this
 * one by a veth pair and routed through it (needs root). Names are unique to
 * the test process; interface names stay within 15 characters.
 */
import { spawnSync } from "node:child_process";

export interface Namespace {
  name: string;
  /** This machine's address on the veth pair. */
  hostAddress: string;
  /** The namespace's own address. */
  address: string;
  /** `ip netns exec NAME`: prefix a command with it to run it inside. */
  exec: string[];
  /** Deletes the namespace and the veth pair; safe to call twice. */
  remove(): void;
}

function ip(...args: string[]): { ok: boolean; output: string } {
  const result = spawnSync("ip", args, { encoding: "utf8", timeout: 5_000 });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
}

/**
 * Creates the namespace; `id` (0–9) keeps the test files of one run (one
 * process) apart. Answers the reason as a string when it cannot be made (not root),
 * having removed what it made.
 */
export function createNamespace(id: number): Namespace | string {
  const tag = `${id}n${process.pid % 100_000}`;
  const name = `drover-t${tag}`;
  const hostSide = `dvh${tag}`;
  const netnsSide = `dvn${tag}`;
  const subnet = `10.${213 + id}.${process.pid % 250}`;
  const namespace: Namespace = {
    name,
    hostAddress: `${subnet}.1`,
    address: `${subnet}.2`,
    exec: ["ip", "netns", "exec", name],
    remove() {
      ip("netns", "del", name);
      ip("link", "del", hostSide);
    },
  };
  const steps = [
    ["netns", "add", name],
    ["link", "add", hostSide, "type", "veth", "peer", "name", netnsSide],
    ["link", "set", netnsSide, "netns", name],
    ["addr", "add", `${namespace.hostAddress}/24`, "dev", hostSide],
    ["link", "set", hostSide, "up"],
    ["-n", name, "addr", "add", `${namespace.address}/24`, "dev", netnsSide],
    ["-n", name, "link", "set", netnsSide, "up"],
    ["-n", name, "link", "set", "lo", "up"],
    ["-n", name, "route", "add", "default", "via", namespace.hostAddress],
  ];
  for (const step of steps) {
    const result = ip(...step);
    if (!result.ok) {
      namespace.remove();
      return `ip ${step.join(" ")}: ${result.output}`;
    }
  }
  return namespace;
}

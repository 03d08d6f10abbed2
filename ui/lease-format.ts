import type { DriverReport } from "./lease-types.ts";

/** What Jumpstarter names a driver instance by (Drover's exporters set it on every report). */
const driverNameLabel = "jumpstarter.dev/name";

const pad = (value: number) => String(value).padStart(2, "0");

/** Whole seconds left until `endIso` at `now`, never below zero. */
export function secondsLeft(endIso: string, now: number): number {
  return Math.max(0, Math.floor((Date.parse(endIso) - now) / 1000));
}

/** The countdown of a held lease: "29:59", "1:14:59" from an hour on; "0:00" once it is due. */
export function countdownText(endIso: string, now: number): string {
  const left = secondsLeft(endIso, now);
  const hours = Math.floor(left / 3600);
  const minutes = Math.floor((left % 3600) / 60);
  const seconds = left % 60;
  return hours > 0 ? `${hours}:${pad(minutes)}:${pad(seconds)}` : `${minutes}:${pad(seconds)}`;
}

/** The warning a lease.expiring event puts on its row, worded once (it is not a ticking text). */
export function expiringText(endIso: string, now: number): string {
  const left = secondsLeft(endIso, now);
  const when = left < 60 ? `${left} s` : `${Math.round(left / 60)} min`;
  return `Expiring: ends in ${when} unless extended`;
}

/** A driver's name: the Jumpstarter name label, else its description, else its uuid. */
export function driverName(report: DriverReport): string {
  return report.labels[driverNameLabel] ?? report.description ?? report.uuid;
}

/** The lease holder in words: "you", a member's email, or the client as the API names it. */
export function clientText(
  client: string,
  emails: ReadonlyMap<string, string>,
  myUserId: string | undefined,
): string {
  if (myUserId !== undefined && client === `user:${myUserId}`) return "you";
  const userId = client.startsWith("user:") ? client.slice("user:".length) : undefined;
  return (userId !== undefined && emails.get(userId)) || client;
}

/** The link to a lease: its row, marked, in its workspace's queue. */
export function leaseHref(workspaceId: string, leaseName: string): string {
  return `/leases?${new URLSearchParams({ workspace: workspaceId, lease: leaseName })}`;
}

// Issue 14, exporters: ExporterService through a router tunnel on a real call channel, hooks to LogStream, EndSession's release, and fencing (a stale token refused, a changed lease's tunnel cut).
import { afterEach, describe, expect, test } from "bun:test";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromJson, toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { expectDroverRejection } from "../../test/support/errors.ts";
import {
  createExporterHarness,
  type ExporterHarness,
  eventually,
} from "../../test/support/exporter-harness.ts";
import { ExporterStatus, LogSource } from "../gen/jumpstarter/v1/common_pb.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "drover-exporter-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function script(dir: string, name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

function harness(config: unknown): ExporterHarness {
  const made = createExporterHarness(config);
  cleanups.push(() => made.close());
  return made;
}

async function connectCode(promise: Promise<unknown>): Promise<Code> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectError);
  return (error as ConnectError).code;
}

const value = (json: Parameters<typeof fromJson<typeof ValueSchema>>[1]) =>
  fromJson(ValueSchema, json);

describe("ExporterService through a tunnel", () => {
  test("GetReport, DriverCall and StreamingDriverCall on a shell driver, GetStatus; bad calls get gRPC codes; every call is audited", async () => {
    const dir = await tempDir();
    const greet = await script(dir, "greet", 'echo "hello $1"; echo "to stderr" >&2; echo second');
    const h = harness({
      labels: { bench: "a" },
      drivers: [
        {
          name: "tools",
          type: "shell",
          labels: { room: "lab" },
          description: "bench tools",
          config: { commands: { greet: { argv: [greet], arg_pattern: "[a-z]+", max_args: 1 } } },
        },
      ],
    });
    await eventually(() => h.registered.length === 1);
    const [registered] = h.registered;
    expect(registered?.labels).toEqual({ bench: "a" });
    const uuid = registered?.reports[0]?.uuid as string;
    expect(registered?.reports[0]?.labels).toMatchObject({
      "jumpstarter.dev/name": "tools",
      room: "lab",
    });
    expect(registered?.reports[0]?.methodsDescription.greet).toContain(greet);

    await h.lease(5n);
    await h.exporter.idle();
    const { client } = h.dial(5n, "user:alice");
    const report = await client.exporter.getReport({});
    expect(report.uuid).toBe("agent-1");
    expect(report.reports.map((r) => r.uuid)).toEqual([uuid]);
    expect(report.reports[0]?.description).toBe("bench tools");

    const called = await client.exporter.driverCall({
      uuid,
      method: "greet",
      args: [value("bob")],
    });
    expect(toJson(ValueSchema, called.result as never)).toMatchObject({
      exit_code: 0,
      stdout: "hello bob\nsecond\n",
      stderr: "to stderr\n",
    });

    const streamed = [];
    for await (const message of client.exporter.streamingDriverCall({
      uuid,
      method: "greet",
      args: [value("eve")],
    }))
      streamed.push(toJson(ValueSchema, message.result as never));
    expect(streamed).toContainEqual({ stream: "stdout", line: "hello eve" });
    expect(streamed).toContainEqual({ stream: "stderr", line: "to stderr" });
    expect(streamed.at(-1)).toEqual({ exit_code: 0, timed_out: false });

    const status = await client.exporter.getStatus({});
    expect(status.status).toBe(ExporterStatus.LEASE_READY);
    expect(status.previousStatus).toBe(ExporterStatus.AVAILABLE);
    expect(status.statusVersion).toBe(1n);

    expect(await connectCode(client.exporter.driverCall({ uuid, method: "nope" }))).toBe(
      Code.NotFound,
    );
    expect(
      await connectCode(client.exporter.driverCall({ uuid: "missing", method: "greet" })),
    ).toBe(Code.NotFound);
    // The argument pattern is the declaration's: a shell metacharacter never reaches a program.
    expect(
      await connectCode(
        client.exporter.driverCall({ uuid, method: "greet", args: [value("x; rm -rf /")] }),
      ),
    ).toBe(Code.InvalidArgument);

    await eventually(() => h.audits.length >= 3);
    expect(h.audits[0]).toMatchObject({
      exporterUuid: "agent-1",
      driverInstanceUuid: uuid,
      clientName: "user:alice",
      fencingToken: 5n,
      method: "greet",
      result: "ok",
    });
    expect(h.audits.at(-1)).toMatchObject({ method: "greet", result: "error: invalid_argument" });
  });

  test("EndSession runs after_lease: its output reaches LogStream, status AfterLease → Available, and release_lease is reported", async () => {
    const dir = await tempDir();
    const after = await script(dir, "after", "echo cleaning the board; echo done cleaning");
    const h = harness({
      drivers: [
        { name: "tools", type: "shell", config: { commands: { t: { argv: ["/bin/true"] } } } },
      ],
      hooks: { after_lease: { argv: [after] } },
    });
    await eventually(() => h.statuses.length === 1);
    await h.lease(7n);
    await h.exporter.idle();
    const { client } = h.dial(7n);
    const logs: Array<{ message: string; source?: LogSource }> = [];
    const reading = (async () => {
      for await (const entry of client.exporter.logStream({})) {
        logs.push({
          message: entry.message,
          ...(entry.source === undefined ? {} : { source: entry.source }),
        });
        if (entry.message === "done cleaning") return;
      }
    })();
    const ended = await client.exporter.endSession({});
    expect(ended).toMatchObject({ success: true });
    await reading;
    expect(logs).toContainEqual({
      message: "cleaning the board",
      source: LogSource.AFTER_LEASE_HOOK,
    });
    expect(logs).toContainEqual({ message: "done cleaning", source: LogSource.AFTER_LEASE_HOOK });
    const status = await client.exporter.getStatus({});
    expect(status.status).toBe(ExporterStatus.AVAILABLE);
    expect(status.previousStatus).toBe(ExporterStatus.AFTER_LEASE_HOOK);
    await eventually(() => h.statuses.some((s) => s.releaseLease));
    expect(h.statuses.map((s) => [s.status, s.releaseLease ?? false])).toEqual([
      [ExporterStatus.AVAILABLE, false],
      [ExporterStatus.LEASE_READY, false],
      [ExporterStatus.AFTER_LEASE_HOOK, false],
      [ExporterStatus.AVAILABLE, true],
    ]);
    // After EndSession no driver call runs on the lease, even before the server ends it.
    const uuid = h.exporter.drivers[0]?.uuid as string;
    expect(await connectCode(client.exporter.driverCall({ uuid, method: "t" }))).toBe(
      Code.FailedPrecondition,
    );
  });

  test("a before_lease hook that runs past its timeout leaves the exporter BeforeLeaseFailed and releases the lease", async () => {
    const dir = await tempDir();
    const slow = await script(dir, "slow", "echo resetting; exec sleep 30");
    const h = harness({
      drivers: [{ name: "ssh", type: "tcp", config: { host: "127.0.0.1", port: 22 } }],
      hooks: { before_lease: { argv: [slow], timeout: "1s" } },
    });
    await h.lease(3n);
    await h.exporter.idle();
    expect(h.exporter.status().status).toBe(ExporterStatus.BEFORE_LEASE_HOOK_FAILED);
    expect(h.exporter.status().message).toContain("timed out");
    await eventually(() => h.statuses.some((s) => s.releaseLease));
    expect(h.statuses.at(-1)).toMatchObject({
      status: ExporterStatus.BEFORE_LEASE_HOOK_FAILED,
      releaseLease: true,
    });
    // Not ready: driver calls are refused under the failed lease.
    expect(() => h.exporter.checkReady(3n)).toThrow("not ready");
  });
});

describe("fencing", () => {
  test("a router call with a stale token is refused at open; with no lease too", async () => {
    const h = harness({
      drivers: [{ name: "ssh", type: "tcp", config: { host: "127.0.0.1", port: 22 } }],
    });
    const noLease = await expectDroverRejection(
      h.dial(1n).ended.then((error) => Promise.reject(error)),
    );
    expect(noLease.code).toBe("failed_precondition");
    expect(noLease.message).toContain("no lease");
    await h.lease(5n);
    const error = await expectDroverRejection(h.dial(4n).ended.then((e) => Promise.reject(e)));
    expect(error.code).toBe("failed_precondition");
    expect(error.message).toBe("stale fencing token 4: the exporter's current lease is 5");
  });

  test("when the lease changes, the old token's tunnel is cut, its calls fail, and only the new token gets in", async () => {
    const h = harness({
      drivers: [
        { name: "tools", type: "shell", config: { commands: { t: { argv: ["/bin/true"] } } } },
      ],
    });
    await h.lease(5n);
    await h.exporter.idle();
    const old = h.dial(5n);
    const uuid = h.exporter.drivers[0]?.uuid as string;
    await old.client.exporter.driverCall({ uuid, method: "t" });
    await h.lease(6n, "user:bob");
    const cut = await expectDroverRejection(old.ended.then((e) => Promise.reject(e)));
    expect(cut.code).toBe("failed_precondition");
    expect(cut.message).toContain("fencing token 5");
    // The tunnel is gone: the old client's calls fail (the connection was cut under them).
    expect([Code.Unavailable, Code.Internal]).toContain(
      await connectCode(old.client.exporter.getStatus({})),
    );
    // The per-call check, behind the cut: token 5 is refused everywhere.
    expect(() => h.exporter.checkToken(5n)).toThrow("stale fencing token 5");
    await h.exporter.idle();
    const next = h.dial(6n, "user:bob");
    await next.client.exporter.driverCall({ uuid, method: "t" });
    await eventually(() => h.audits.some((a) => a.clientName === "user:bob"));
    expect(h.audits.filter((a) => a.method === "t").map((a) => a.fencingToken)).toEqual([5n, 6n]);
  });
});

import { describe, expect, test } from "bun:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { expectDroverThrow } from "../../test/support/errors.ts";
import {
  AgentConfigStatusSchema,
  SendAgentCommandRequestSchema,
  SendAgentCommandResponseSchema,
} from "../gen/drover/v1/operator_pb.ts";
import { CommandKind, ConfigApplyState } from "../gen/drover/v1/session_pb.ts";
import type { ConfigStatusRow } from "../store/index.ts";
import {
  agentCommandFromProto,
  agentConfigFromProto,
  agentConfigToProto,
  commandOutcomeFromProto,
  commandOutcomeToProto,
} from "./agent-config.ts";

const row: ConfigStatusRow = {
  agentId: "ag-1",
  desiredVersion: "d".repeat(64),
  desiredRevision: 7,
  version: "v".repeat(64),
  revision: 7,
  state: "rolled_back",
  appliedVersion: "a".repeat(64),
  appliedRevision: 6,
  appliedAt: new Date("2030-01-01T00:00:01.250Z"),
  durationMs: 42,
  errors: ['nginx: [emerg] unknown directive "bogus"'],
  steps: [
    { name: "stage", ok: true, durationMs: 3 },
    { name: "validate", ok: false, durationMs: 30, detail: "nginx -t failed" },
  ],
  hosts: [
    { id: "vh-1", status: "applied" },
    { id: "vh-2", status: "set_aside", reason: "does not resolve", field: "locations.0" },
  ],
  files: [
    {
      id: "f-1",
      path: "app/.env",
      status: "set_aside",
      reason: 'uses secret "db", which is not targeted at this agent',
    },
  ],
  updatedAt: new Date("2030-01-01T00:00:02Z"),
};

/** Through real protobuf bytes. */
const statusOverWire = (agentId: string, value: ConfigStatusRow | null) =>
  fromBinary(
    AgentConfigStatusSchema,
    toBinary(AgentConfigStatusSchema, agentConfigToProto(agentId, value)),
  );

describe("agent configuration status", () => {
  test("a status row survives the wire", () => {
    const message = statusOverWire("ag-1", row);
    expect(message.state).toBe(ConfigApplyState.ROLLED_BACK);
    expect(agentConfigFromProto(message)).toEqual(row);
  });

  test("an agent without a row is pending with nothing set, and reads back as no row", () => {
    const message = statusOverWire("ag-2", null);
    expect(message).toMatchObject({ agentId: "ag-2", state: ConfigApplyState.PENDING });
    for (const key of ["desiredVersion", "version", "appliedVersion", "durationMs"] as const)
      expect(message[key]).toBeUndefined();
    expect(message.updatedAt).toBeUndefined();
    expect(agentConfigFromProto(message)).toBeNull();
  });

  test("a row before anything was applied keeps its nulls", () => {
    const fresh = {
      ...row,
      appliedVersion: null,
      appliedRevision: null,
      appliedAt: null,
      durationMs: null,
    };
    expect(agentConfigFromProto(statusOverWire("ag-1", fresh))).toEqual(fresh);
  });
});

describe("agent commands", () => {
  test("zero values are not given; the kind is required", () => {
    const request = (init: Parameters<typeof create<typeof SendAgentCommandRequestSchema>>[1]) =>
      create(SendAgentCommandRequestSchema, init);
    expect(agentCommandFromProto(request({ agentId: "ag-1", kind: CommandKind.RELOAD }))).toEqual({
      agentId: "ag-1",
      command: { kind: "reload" },
    });
    expect(
      agentCommandFromProto(
        request({ agentId: "ag-1", kind: CommandKind.STOP, timeoutSeconds: 5 }),
      ),
    ).toEqual({ agentId: "ag-1", command: { kind: "stop", timeoutSeconds: 5 } });
    expect(
      agentCommandFromProto(
        request({ agentId: "ag-1", kind: CommandKind.VALIDATE_CONFIG, configText: "events {}" }),
      ).command,
    ).toEqual({ kind: "validate_config", configText: "events {}" });
    expect(
      expectDroverThrow(() => agentCommandFromProto(request({ agentId: "ag-1" }))).details,
    ).toEqual([
      {
        field: "kind",
        message: "must be RELOAD, RESTART, STOP, GET_STATUS or VALIDATE_CONFIG",
      },
    ]);
    expect(
      expectDroverThrow(() => agentCommandFromProto(request({ kind: CommandKind.RELOAD }))).details,
    ).toEqual([{ field: "agent_id", message: "is required" }]);
  });

  test("an outcome survives the wire, with and without nginx status", () => {
    const overWire = (outcome: Parameters<typeof commandOutcomeToProto>[0]) =>
      commandOutcomeFromProto(
        fromBinary(
          SendAgentCommandResponseSchema,
          toBinary(SendAgentCommandResponseSchema, commandOutcomeToProto(outcome)),
        ),
      );
    const withStatus = {
      ok: true,
      errors: [],
      status: {
        running: true,
        pid: 1234,
        uptimeSeconds: 12.5,
        activeConnections: 3,
        requestsTotal: 99,
        requestsPerSecond: 1.5,
        configVersion: "c".repeat(64),
      },
    };
    expect(overWire(withStatus)).toEqual(withStatus);
    const failed = { ok: false, errors: ["nginx: [emerg] bad"] };
    expect(overWire(failed)).toEqual(failed);
  });
});

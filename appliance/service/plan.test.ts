// Issue 15, services: what each install plans, hardened as far as the mode allows.
import { describe, expect, test } from "bun:test";
import { agentHelp } from "../commands/agent.ts";
import { serverHelp } from "../commands/server.ts";
import { UsageError } from "../flags.ts";
import { type GivenFlags, planService, type ServiceKind } from "./plan.ts";
import { renderUnit, systemdWord } from "./unit.ts";

const token = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJkcm92ZXIifQ.c2ln";

function plan(kind: ServiceKind, flags: GivenFlags, groups: string[] = []) {
  return planService({
    kind,
    binary: "/usr/local/bin/drover",
    flags: { "nginx-mode": "off", "nginx-status-port": "18080", ...flags },
    spec: kind === "server" ? serverHelp.flags : agentHelp.flags,
    cwd: "/home/pi",
    groups: new Set(groups),
  });
}

const line = (text: string, key: string) => text.split("\n").find((l) => l.startsWith(`${key}=`));

describe("an agent's service", () => {
  test("the token goes to a root-only environment file, never the command line", () => {
    const planned = plan("agent", { server: "10.0.0.1:8440", token, label: ["zone=attic"] });
    const unit = renderUnit(planned.unit);
    expect(unit).not.toContain(token);
    expect(planned.environment).toEqual({
      path: "/etc/drover/agent.env",
      text: `# The join token, used once at the first start.\nDROVER_TOKEN=${token}\n`,
    });
    expect(line(unit, "EnvironmentFile")).toBe("EnvironmentFile=/etc/drover/agent.env");
    expect(line(unit, "ExecStart")).toBe(
      "ExecStart=/usr/local/bin/drover agent --data-dir /var/lib/drover-agent --server 10.0.0.1:8440 --label zone=attic",
    );
  });

  test("without nginx: its own user, no capabilities, no devices, writes only its data dir", () => {
    const unit = renderUnit(plan("agent", { server: "s:8440", token }).unit);
    for (const expected of [
      "User=drover-agent",
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      "ReadWritePaths=/var/lib/drover-agent",
      "ProtectHome=yes",
      "PrivateTmp=yes",
      "PrivateDevices=yes",
      "CapabilityBoundingSet=",
      "Restart=on-failure",
    ])
      expect(unit.split("\n")).toContain(expected);
    expect(unit).not.toContain("AmbientCapabilities");
  });

  test("managed nginx keeps exactly CAP_NET_BIND_SERVICE, as the agent's user", () => {
    const unit = renderUnit(
      plan("agent", { server: "s:8440", token, "nginx-mode": "managed" }).unit,
    );
    expect(line(unit, "CapabilityBoundingSet")).toBe("CapabilityBoundingSet=CAP_NET_BIND_SERVICE");
    expect(line(unit, "AmbientCapabilities")).toBe("AmbientCapabilities=CAP_NET_BIND_SERVICE");
    expect(line(unit, "User")).toBe("User=drover-agent");
  });

  test("system nginx runs as root, writing only the data dir, the conf dir and nginx's state", () => {
    const planned = plan("agent", {
      server: "s:8440",
      token,
      "nginx-mode": "system",
      "nginx-conf-dir": "/etc/nginx/conf.d/drover",
    });
    const unit = renderUnit(planned.unit);
    expect(planned.user).toBe("root");
    expect(line(unit, "User")).toBeUndefined();
    expect(line(unit, "ReadWritePaths")).toBe(
      "ReadWritePaths=/var/lib/drover-agent /etc/nginx/conf.d/drover -/var/log/nginx -/var/lib/nginx",
    );
    expect(unit).toContain("ProtectSystem=strict");
  });

  test("a config declaring hardware gets the devices and the gpio group where one exists", () => {
    const withGpio = plan("agent", { server: "s:8440", token, config: "agent.yaml" }, ["gpio"]);
    const unit = renderUnit(withGpio.unit);
    expect(unit).not.toContain("PrivateDevices");
    expect(line(unit, "SupplementaryGroups")).toBe("SupplementaryGroups=gpio");
    // Relative to where install ran, which is under /home: that must stay readable.
    expect(line(unit, "ExecStart")).toContain("--config /home/pi/agent.yaml");
    expect(line(unit, "ProtectHome")).toBe("ProtectHome=read-only");
    const noGpio = renderUnit(
      plan("agent", { server: "s:8440", token, config: "/etc/drover/a.json" }).unit,
    );
    expect(noGpio).not.toContain("SupplementaryGroups");
  });

  test("a token with characters a join token never has is refused", () => {
    expect(() => plan("agent", { server: "s:8440", token: "abc def" })).toThrow(UsageError);
  });
});

describe("a server's service", () => {
  test("its own user, a high open-file limit, no capabilities on unprivileged ports", () => {
    const planned = plan("server", {});
    const unit = renderUnit(planned.unit);
    expect(planned.user).toBe("drover");
    expect(line(unit, "ExecStart")).toBe(
      "ExecStart=/usr/local/bin/drover server --data-dir /var/lib/drover",
    );
    expect(line(unit, "LimitNOFILE")).toBe("LimitNOFILE=65536");
    expect(line(unit, "CapabilityBoundingSet")).toBe("CapabilityBoundingSet=");
    expect(planned.environment).toBeUndefined();
  });

  test("a listener below port 1024 gets CAP_NET_BIND_SERVICE; defaults stay off the command line", () => {
    const unit = renderUnit(
      plan("server", { "http-addr": ":443", "registration-addr": ":8440" }).unit,
    );
    expect(line(unit, "AmbientCapabilities")).toBe("AmbientCapabilities=CAP_NET_BIND_SERVICE");
    expect(line(unit, "ExecStart")).toBe(
      "ExecStart=/usr/local/bin/drover server --data-dir /var/lib/drover --http-addr :443",
    );
  });

  test("paths systemd would read differently are refused, naming the flag", () => {
    expect(() => plan("server", { "data-dir": "/srv/my data" })).toThrow("--data-dir /srv/my data");
    expect(() => plan("server", { "data-dir": "/srv/100%" })).toThrow(UsageError);
  });
});

test("systemd words: quoted when needed, % and $ passed through literally", () => {
  expect(systemdWord("zone=attic")).toBe("zone=attic");
  expect(systemdWord("a b")).toBe('"a b"');
  expect(systemdWord('say "hi"')).toBe('"say \\"hi\\""');
  expect(systemdWord("50%")).toBe("50%%");
  expect(systemdWord("$HOME")).toBe('"$$HOME"');
});

// Issue 14, Tests "end to end with real processes": two exporters and three clients competing; kill -9 of the server during grants (no double grant, no lost lease after restart); an exporter killed during a lease (holder told, lease ends after the grace).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { Harness, type RunningProcess, type ServerProcess, waitFor } from "./harness.ts";
import { asPerson, createPerson, type Json, type Person, personCurl } from "./lease-people.ts";

setDefaultTimeout(60_000);

/** Short, so the tests see a lease end after it (default 2 minutes), yet long enough to restart a killed agent within it on a loaded machine. */
const GRACE_MS = 6_000;
const serverArgs = ["--exporter-offline-grace", `${GRACE_MS / 1000}s`];

let h: Harness;
let server: ServerProcess;
let workspaceId: string;
let people: Person[];
/** The two exporters, by slot: an agent with --exporter each, both labelled board=pi4. */
const exporters = {} as Record<"a" | "b", { id: string; agent: RunningProcess }>;

const droverOk = (...args: string[]) => h.runOk([...args, "--data-dir", h.dataDir]);

async function adminGet(path: string): Promise<Json> {
  const answer = await h.adminCurl("GET", path);
  if (answer.status !== 200)
    throw new Error(`GET ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

const exporterOf = (id: string) => adminGet(`/exporters/${id}`);
const leaseOf = (name: string) => adminGet(`/leases/${name}`);

/** The workspace's leases in one phase, from the store (admin REST). */
async function leasesIn(phase: "Pending" | "Ready" | "Ended"): Promise<Json[]> {
  const all: Json[] = [];
  for (let page = 1; ; page++) {
    const body = await adminGet(
      `/workspaces/${workspaceId}/leases?phase=${phase}&per_page=100&page=${page}`,
    );
    all.push(...(body.data as Json[]));
    if (all.length >= ((body.meta as Json).total as number)) return all;
  }
}

/** Every stored event of these types, oldest first. */
async function eventsOf(types: string): Promise<Json[]> {
  const all: Json[] = [];
  let after = 0;
  while (true) {
    const body = await adminGet(`/events?types=${types}&after=${after}&limit=500`);
    all.push(...(body.data as Json[]));
    const next = (body.meta as Json).next_after;
    if (typeof next !== "number") return all;
    after = next;
  }
}

/** The person whose lease this is (its `client` is user:<id>, learnt from their own requests). */
const holderOf = new Map<string, Person>();

/** Releases these leases, each as its holder; how many it released. */
async function releaseAsHolders(leases: Json[]): Promise<number> {
  let released = 0;
  for (const lease of leases) {
    const holder = holderOf.get(lease.client as string);
    if (!holder) throw new Error(`a lease of an unknown client: ${JSON.stringify(lease)}`);
    const answer = await personCurl(h, holder, "POST", `/leases/${lease.name}/release`);
    if (answer.status === 200) released++;
  }
  return released;
}

const releaseReady = async () => releaseAsHolders(await leasesIn("Ready"));

async function startExporterAgent(slot: "a" | "b", token?: string): Promise<RunningProcess> {
  return h.startAgent({
    dataDir: `agent-${slot}`,
    ...(token === undefined ? {} : { server: server.endpoints.registration, token }),
    extraArgs: ["--exporter", h.path(`exporter-${slot}.json`)],
  });
}

const onlineAndAvailable = (id: string) =>
  waitFor(`exporter ${id} online and Available`, async () => {
    const found = await exporterOf(id);
    return found.online === true && found.status === "Available" ? found : undefined;
  });

beforeAll(async () => {
  h = await Harness.create("lease-crash");
  server = await h.startServer(undefined, { extraArgs: serverArgs });
  for (const slot of ["a", "b"] as const) {
    const powered = h.path(`powered-${slot}`);
    const config = { on: ["touch", powered], off: ["rm", "-f", powered] };
    await writeFile(
      h.path(`exporter-${slot}.json`),
      JSON.stringify({ drivers: [{ name: "power", type: "power", config }] }),
    );
    const token = await h.createToken("agent", [
      "--label",
      "board=pi4",
      "--label",
      `slot=${slot}`,
      "--name",
      `exporter-${slot}`,
    ]);
    const agent = await startExporterAgent(slot, token);
    exporters[slot] = { id: await h.agentIdOf(`agent-${slot}`), agent };
  }
  const [a] = await Promise.all([
    onlineAndAvailable(exporters.a.id),
    onlineAndAvailable(exporters.b.id),
  ]);
  workspaceId = a.workspace_id as string;
  people = await Promise.all(["ada", "grace", "linus"].map((name) => createPerson(h, name)));
});

afterAll(async () => {
  await h?.cleanup();
});

describe("leases under competition and crashes, with real processes", () => {
  test("three people compete for two exporters: two granted on different exporters, the third queued, then served with a larger fencing token", async () => {
    const requests = await Promise.all(
      people.map((person) =>
        asPerson(h, person, ["lease", "request", "--selector", "board=pi4", "--duration", "10m"]),
      ),
    );
    const names = requests.map((result, index) => {
      expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code: 0 });
      expect(result.stdout).toMatch(/^lease-[0-9a-z]+\n$/);
      return [result.stdout.trim(), people[index] as Person] as const;
    });
    const listed = JSON.parse((await droverOk("lease", "list", "-o", "json")).stdout) as Json[];
    const ours = listed.filter((lease) => names.some(([name]) => name === lease.name));
    for (const lease of ours) {
      const person = names.find(([name]) => name === lease.name)?.[1] as Person;
      holderOf.set(lease.client as string, person);
    }
    const ready = ours.filter((lease) => lease.phase === "Ready");
    const pending = ours.filter((lease) => lease.phase === "Pending");
    expect(ready.map((lease) => lease.exporter_id).sort()).toEqual(
      [exporters.a.id, exporters.b.id].sort(),
    );
    expect(pending).toEqual([
      expect.objectContaining({ reason: "NotAvailable", queue_position: 1, exporter_id: null }),
    ]);
    expect(holderOf.size).toBe(3);

    // Both exporters reach LeaseReady, each naming its holder's lease and its fencing token.
    const listExporters = async () =>
      JSON.parse((await droverOk("exporters", "list", "-o", "json")).stdout) as Json[];
    const leased = await waitFor("both exporters LeaseReady", async () => {
      const rows = await listExporters();
      return rows.every((row) => row.status === "LeaseReady") ? rows : undefined;
    });
    for (const lease of ready) {
      expect(leased.find((row) => row.id === lease.exporter_id)).toMatchObject({
        lease_name: lease.name,
        client: lease.client,
        fencing_token: lease.fencing_token,
      });
    }

    // One holder releases (with the CLI): the queued lease gets that exporter, with a larger token.
    const freed = ready[0] as Json;
    const freer = holderOf.get(freed.client as string) as Person;
    const release = await asPerson(h, freer, ["lease", "release", freed.name as string]);
    expect({ code: release.code, stderr: release.stderr }).toMatchObject({ code: 0 });
    const third = (pending[0] as Json).name as string;
    const served = await waitFor(`${third} to be granted`, async () => {
      const got = await asPerson(h, holderOf.get((pending[0] as Json).client as string) as Person, [
        "lease",
        "get",
        third,
        "-o",
        "json",
      ]);
      const lease = JSON.parse(got.stdout) as Json;
      return lease.phase === "Ready" ? lease : undefined;
    });
    expect(served.exporter_id).toBe(freed.exporter_id);
    expect(served.fencing_token as number).toBeGreaterThan(freed.fencing_token as number);
    expect(await leaseOf(freed.name as string)).toMatchObject({
      phase: "Ended",
      reason: "Released",
    });
    const exporterNow = await exporterOf(freed.exporter_id as string);
    expect(exporterNow.fencing_token).toBe(served.fencing_token);
  });

  test("kill -9 of the server during grants: no double grant, no lost lease, the queue resumes after the restart", async () => {
    /** Requests keep coming until the kill; at most this many, so the queue drains quickly after it. */
    const most = 80;
    const lanes = 10;
    const answered = new Set<string>();
    let released = 0;
    let killed = false;
    let inFlight = 0;
    // Ten lanes of requests (spread over the people) while the held leases are released as they are
    // granted: each release starts a grant of the next in the queue.
    const requester = async (lane: number) => {
      const person = people[lane % people.length] as Person;
      for (let i = 0; i < most / lanes && !killed; i++) {
        inFlight++;
        const answer = await personCurl(h, person, "POST", `/workspaces/${workspaceId}/leases`, {
          selector: "board=pi4",
          duration: "5m",
        });
        inFlight--;
        if (answer.status === 0) return;
        expect(answer.status).toBe(201);
        answered.add(answer.body.name as string);
        holderOf.set(answer.body.client as string, person);
      }
    };
    const releaser = async () => {
      while (!killed) released += await releaseReady().catch(() => 0);
    };
    const storm = [...Array.from({ length: lanes }, (_, lane) => requester(lane)), releaser()];
    await waitFor(
      "requests answered and grants under way",
      () => answered.size >= 15 && released >= 2,
    );
    process.kill(server.pid, "SIGKILL");
    killed = true;
    const cutShort = inFlight;
    await server.exited;
    await Promise.all(storm);
    const printed = [...answered];
    console.log(
      `killed with ${cutShort} requests in flight, ${printed.length} answered, ${released} releases done`,
    );

    server = await h.startServer(server.endpoints, { extraArgs: serverArgs });
    // No lost lease: every request whose name was answered is in the store.
    for (const name of printed) expect((await leaseOf(name)).name).toBe(name);
    // No double grant in the state the restart found.
    const holders = (await leasesIn("Ready")).map((lease) => lease.exporter_id);
    expect(new Set(holders).size).toBe(holders.length);
    expect((await leasesIn("Pending")).length).toBeGreaterThan(0);

    // The scheduler resumes: once the agents are back, every queued lease is granted in turn (the
    // first six of the queue; the others leave it, to keep the run short).
    const queued = await leasesIn("Pending");
    const kept = queued.slice(0, 6).map((lease) => lease.name as string);
    await releaseAsHolders(queued.slice(6));
    await Promise.all([
      waitFor("exporter a back", async () => (await exporterOf(exporters.a.id)).online === true),
      waitFor("exporter b back", async () => (await exporterOf(exporters.b.id)).online === true),
    ]);
    await waitFor(
      "the queue to drain (each lease granted, then released)",
      async () => {
        await releaseReady();
        const live = [...(await leasesIn("Pending")), ...(await leasesIn("Ready"))];
        return live.length === 0;
      },
      40_000,
    );
    for (const name of printed) expect((await leaseOf(name)).phase).toBe("Ended");

    // The history across the crash: per exporter, a grant only when its previous lease had ended,
    // fencing tokens strictly increasing, the last one the exporter's own.
    const history = await eventsOf("lease.granted,lease.ended");
    const held = new Map<string, string>();
    const lastToken = new Map<string, number>();
    for (const event of history) {
      const data = event.data as Json;
      const exporterId = data.exporter_id as string | null;
      if (exporterId === null) continue;
      if (event.type === "lease.granted") {
        expect({ exporterId, heldBy: held.get(exporterId) }).toEqual({
          exporterId,
          heldBy: undefined,
        });
        expect(data.fencing_token as number).toBeGreaterThan(lastToken.get(exporterId) ?? 0);
        held.set(exporterId, data.lease_name as string);
        lastToken.set(exporterId, data.fencing_token as number);
      } else if (held.get(exporterId) === data.lease_name) {
        held.delete(exporterId);
      }
    }
    expect(held.size).toBe(0);
    const granted = history.filter((event) => event.type === "lease.granted");
    console.log(`${granted.length} grants in the history`);
    for (const name of kept) {
      expect(granted.map((event) => (event.data as Json).lease_name)).toContain(name);
    }
    for (const { id } of Object.values(exporters)) {
      expect((await exporterOf(id)).fencing_token).toBe(lastToken.get(id) as number);
    }
  });

  /** A Ready lease on one exporter, requested with the CLI and waited for. */
  async function holdExporter(slot: "a" | "b"): Promise<Json> {
    const person = people[0] as Person;
    const requested = await asPerson(h, person, [
      "lease",
      "request",
      "--selector",
      `board=pi4,slot=${slot}`,
      "--duration",
      "10m",
      "--wait",
      "--timeout",
      "15s",
    ]);
    expect({ code: requested.code, stderr: requested.stderr }).toMatchObject({ code: 0 });
    const lease = await leaseOf(requested.stdout.trim());
    expect(lease).toMatchObject({ phase: "Ready", exporter_id: exporters[slot].id });
    return lease;
  }

  /** The stored event of `type` about `lease`, once there is one. */
  const eventAbout = (type: string, lease: Json) =>
    waitFor(`${type} of ${lease.name}`, async () =>
      (await eventsOf(type)).find((event) => (event.data as Json).lease_name === lease.name),
    );

  test("an exporter killed and back within the grace: its lease goes on", async () => {
    const lease = await holdExporter("b");
    process.kill(exporters.b.agent.pid, "SIGKILL");
    await exporters.b.agent.exited;
    const told = (await eventAbout("exporter.lease_interrupted", lease)).data as Json;
    expect(told).toMatchObject({ exporter_id: exporters.b.id, client: lease.client });
    // Same data dir, no token: the agent rejoins with the identity it kept.
    exporters.b.agent = await startExporterAgent("b");
    await waitFor(
      "exporter b online again",
      async () => (await exporterOf(exporters.b.id)).online === true,
    );
    const graceEnd = Date.parse(told.grace_ends_at as string);
    console.log(`exporter b back ${graceEnd - Date.now()} ms before the grace would have ended`);
    await waitFor("the grace to have passed", () => Date.now() > graceEnd + 1_000);
    expect(await leaseOf(lease.name as string)).toMatchObject({
      phase: "Ready",
      exporter_id: exporters.b.id,
      fencing_token: lease.fencing_token,
    });
    // And it still drives the board.
    const call = await asPerson(h, people[0] as Person, [
      "lease",
      "call",
      lease.name as string,
      "power",
      "on",
    ]);
    expect({ code: call.code, stdout: call.stdout, stderr: call.stderr }).toMatchObject({
      code: 0,
      stdout: "on\n",
    });
    await asPerson(h, people[0] as Person, ["lease", "release", lease.name as string]);
  });

  test("an exporter killed during a lease: the holder is told at once, the lease ends ExporterOffline after the grace", async () => {
    const lease = await holdExporter("a");
    process.kill(exporters.a.agent.pid, "SIGKILL");
    await exporters.a.agent.exited;
    const interrupted = await eventAbout("exporter.lease_interrupted", lease);
    const told = interrupted.data as Json;
    expect(told).toMatchObject({ exporter_id: exporters.a.id, client: lease.client });
    const graceEnd = Date.parse(told.grace_ends_at as string);
    expect(graceEnd - Date.parse(told.offline_since as string)).toBe(GRACE_MS);
    const ended = await waitFor("the lease to end", async () => {
      const now = await leaseOf(lease.name as string);
      return now.phase === "Ended" ? now : undefined;
    });
    expect(ended).toMatchObject({ reason: "ExporterOffline", exporter_id: exporters.a.id });
    // Told at once (as the server saw the exporter go), the lease held through the grace, then ended.
    const end = await eventAbout("lease.ended", lease);
    expect(interrupted.seq as number).toBeLessThan(end.seq as number);
    expect(Date.parse(interrupted.timestamp as string)).toBeLessThan(graceEnd);
    expect(Date.parse(ended.ended_at as string)).toBeGreaterThanOrEqual(graceEnd);
    expect(await exporterOf(exporters.a.id)).toMatchObject({ online: false, lease_name: null });
  });
});

// Issue 13, config fan-out: agents holding the same files share one difference to the same desired state.
import { describe, expect, test } from "bun:test";
import type { DesiredState } from "../desired/index.ts";
import { configHash, diffFileSets, type Manifest, manifestOf } from "../drift/index.ts";
import { createDifferences } from "./differences.ts";

function state(files: DesiredState["files"]): DesiredState {
  return { files, hash: configHash(files), hosts: [], upstreams: [], names: [], setAsideFiles: [] };
}

const conf = { path: "nginx/nginx.conf", mode: 0o644, content: "events {}\nhttp {}\n" };
const motd = { path: "etc/motd", mode: 0o644, content: "hello\n" };
const desired = state([motd, conf]);
const older: Manifest = manifestOf([{ ...conf, content: "events {}\n" }]);

describe("createDifferences", () => {
  test("the same held files get one shared difference, equal to diffFileSets", () => {
    const differenceOf = createDifferences();
    const first = differenceOf(desired, older);
    const second = differenceOf(desired, manifestOf([{ ...conf, content: "events {}\n" }]));
    expect(second === first).toBe(true);
    expect(first).toEqual({ holds: false, ...diffFileSets(older, desired.files) });
    expect(first.write.map((file) => file.path)).toEqual(["etc/motd", "nginx/nginx.conf"]);
  });

  test("an agent that holds the desired files is told so; other holdings get their own", () => {
    const differenceOf = createDifferences();
    const holding = differenceOf(desired, manifestOf(desired.files));
    expect(holding).toEqual({ holds: true, write: [], remove: [] });
    const extra = differenceOf(desired, manifestOf([...desired.files, { ...motd, path: "x" }]));
    expect(extra).toEqual({ holds: false, write: [], remove: ["x"] });
    // Another desired state with the same files is its own entry, computed from its own files.
    const other = state([conf]);
    expect(differenceOf(other, manifestOf(desired.files))).toEqual({
      holds: false,
      write: [],
      remove: ["etc/motd"],
    });
  });
});

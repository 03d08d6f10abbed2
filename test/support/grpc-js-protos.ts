/**
 * The repository's .proto files as @grpc/grpc-js sees them (through
 * @grpc/proto-loader): the independent clients of the interop tests use
 * nothing from lib/.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { repoRoot } from "../e2e/harness.ts";

// protobufjs (which proto-loader uses) ships google/protobuf/*.proto next to its package.json.
const protobufIncludes = dirname(createRequire(import.meta.url).resolve("protobufjs/package.json"));

/** Loads `files` (below proto/); int64 as strings, enums by name, defaults and oneof names filled in unless `options` says otherwise. */
export function loadProtos(files: string[], options: protoLoader.Options = {}): grpc.GrpcObject {
  return grpc.loadPackageDefinition(
    protoLoader.loadSync(files, {
      includeDirs: [join(repoRoot, "proto"), protobufIncludes],
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
      ...options,
    }),
  );
}

/** grpc-js sends the target host as TLS server name; Bun refuses an IP there, and the server's certificate names localhost. */
export const channelOptions: grpc.ChannelOptions = { "grpc.ssl_target_name_override": "localhost" };

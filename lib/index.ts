/**
 * Drover as a library: the same core the `drover` binary runs, for Node ≥ 20,
 * Bun and Deno programs. Importing it starts nothing.
 */
import "reflect-metadata";

export {
  type AcmeClient,
  createAcmeClient,
  obtainCertificate,
  renewalDue,
} from "./acme/index.ts";
export {
  type AgentNginxOptions,
  type AgentOptions,
  createAgent,
  createFileReceiver,
  type DroverAgent,
  loadAgentIdentity,
} from "./agent/index.ts";
export {
  createNginxManager,
  createSystemNginxManager,
  type NginxManager,
} from "./agent/nginx/index.ts";
export {
  type CallChannel,
  type CallHandlers,
  callStreaming,
  callUnary,
  createCallChannel,
  createCallHandlers,
  defineCallKind,
  handleStreaming,
  handleUnary,
} from "./channel/index.ts";
export { type OperatorClient, operatorClientFromDataDir } from "./client/index.ts";
export { type ConfigDelivery, createConfigDelivery } from "./delivery/index.ts";
export { type DesiredState, desiredStateForAgent } from "./desired/index.ts";
export { configHash, type DesiredFile, diffFileSets, manifestOf } from "./drift/index.ts";
export { DroverError, type ErrorCode, isDroverError } from "./errors/index.ts";
export {
  createEventBus,
  type EventBus,
  type EventFilter,
  type FleetEvent,
  openSubscription,
} from "./events/index.ts";
export { createFleet, type Fleet, type FleetAuthority } from "./fleet/index.ts";
export { NodeAgent } from "./gen/drover/node/v1/node_pb.ts";
export { AgentService } from "./gen/drover/v1/agent_pb.ts";
export { IdentityService } from "./gen/drover/v1/identity_pb.ts";
export { OperatorService } from "./gen/drover/v1/operator_pb.ts";
export { RegistrationService } from "./gen/drover/v1/registration_pb.ts";
export {
  createLeaseService,
  type Exporter,
  type Lease,
  type LeaseEngine,
  type LeasePolicy,
  type LeaseService,
  type LeaseServiceOptions,
  type LeaseView,
  leaseConditions,
} from "./lease/index.ts";
export { compileNginxConfig, type NginxModel, nginxFeatures } from "./nginx/index.ts";
export { type AgentNodeConfig, type NodeFunctions, nodeCalls } from "./node/index.ts";
export * from "./pki/index.ts";
export { matchesSelector, parseSelector, type Selector } from "./selector/index.ts";
export {
  type DroverServer,
  type DroverServerOptions,
  type Endpoints,
  type ListenerLimitOverrides,
  readEndpoints,
  serverPaths,
  startDroverServer,
} from "./server/index.ts";
export { openStore, type Store } from "./store/index.ts";
export { grpcTransport } from "./transport/index.ts";
export { droverVersion } from "./version.ts";

import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Fleet } from "../fleet/index.ts";
import type { RegistrationService } from "../gen/drover/v1/registration_pb.ts";
import { certificateToProto, deploymentModeFromProto, roleFromProto } from "../wire/index.ts";
import { remoteAddressKey } from "./peer.ts";

export function registrationService(
  fleet: Fleet,
  serviceAddressFor: (role: "agent" | "operator") => string,
): ServiceImpl<typeof RegistrationService> {
  const { ca } = fleet.deps.authority;
  return {
    getCABundle: () => ({ caBundlePem: ca.certificatePem, fleetId: ca.fleetId }),
    async register(request, context) {
      const registration = await fleet.register({
        token: request.token,
        role: roleFromProto(request.role),
        csr: request.csr,
        name: request.name,
        hostname: request.hostname,
        // An agent that names no address is known by the one it dialled from.
        ip: request.ip || context.values.get(remoteAddressKey),
        version: request.version,
        capabilities: request.capabilities,
        labels: request.labels,
        deploymentMode: deploymentModeFromProto(request.deploymentMode),
      });
      return {
        id: registration.identity.id,
        fleetId: registration.identity.fleetId,
        certificate: certificateToProto(registration.certificate),
        caBundlePem: registration.caBundlePem,
        heartbeatInterval: durationFromMs(registration.heartbeatIntervalMs),
        serviceAddress: serviceAddressFor(registration.identity.role),
      };
    },
  };
}

import type { ServiceImpl } from "@connectrpc/connect";
import type { Fleet } from "../fleet/index.ts";
import type { IdentityService } from "../gen/drover/v1/identity_pb.ts";
import { certificateToProto } from "../wire/index.ts";
import { peerKey } from "./peer.ts";

export function identityService(fleet: Fleet): ServiceImpl<typeof IdentityService> {
  return {
    async renew(request, context) {
      // requireRole has admitted the call, so a peer is present.
      const peer = context.values.get(peerKey);
      if (!peer) throw new Error("identity service mounted without requireRole");
      const certificate = await fleet.renew(peer.identity, request.csr);
      return {
        certificate: certificateToProto(certificate),
        caBundlePem: fleet.deps.authority.ca.certificatePem,
      };
    },
  };
}

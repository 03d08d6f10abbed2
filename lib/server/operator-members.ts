import type { ServiceImpl } from "@connectrpc/connect";
import type { Fleet } from "../fleet/index.ts";
import type { OperatorService } from "../gen/drover/v1/operator_pb.ts";
import { addMember, listMembers, listUsers, removeMember, updateMember } from "../tenancy/index.ts";
import { memberRoleFromProto, memberToProto, userWithRolesToProto } from "../wire/index.ts";
import { page, principalOf, resourceHandlers } from "./operator-tenancy.ts";

type MemberMethods = Pick<
  ServiceImpl<typeof OperatorService>,
  "listMembers" | "addMember" | "updateMember" | "removeMember" | "listUsers"
>;

/** REST's members and users, through the same tenancy functions, as the calling operator. */
export function operatorMemberMethods(fleet: Fleet): MemberMethods {
  const deps = fleet.deps;
  const members = resourceHandlers(deps, "member", memberToProto);
  return {
    listMembers: members.list(listMembers, "organizationId"),
    addMember: members.create(addMember, "organizationId", (request) => ({
      email: request.email,
      role: memberRoleFromProto(request.role),
      password: request.password,
    })),
    async updateMember(request, context) {
      const row = await updateMember(
        deps,
        principalOf(context),
        request.organizationId,
        request.userId,
        { role: memberRoleFromProto(request.role) },
      );
      return { member: memberToProto(row) };
    },
    async removeMember(request, context) {
      await removeMember(deps, principalOf(context), request.organizationId, request.userId);
      return {};
    },
    async listUsers(request, context) {
      const result = await listUsers(deps, principalOf(context), page(request));
      return { users: result.items.map(userWithRolesToProto), total: result.total };
    },
  };
}

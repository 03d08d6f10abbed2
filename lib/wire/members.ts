import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { MemberRole } from "../auth/index.ts";
import {
  type Member,
  MemberRole as MemberRoleEnum,
  MemberSchema,
  type UserWithRoles as UserWithRolesMessage,
  UserWithRolesSchema,
} from "../gen/drover/v1/operator_pb.ts";
import type { MemberRow } from "../store/index.ts";
import type { UserWithRoles } from "../tenancy/index.ts";

const memberRoleEnums: Record<MemberRole, MemberRoleEnum> = {
  owner: MemberRoleEnum.OWNER,
  admin: MemberRoleEnum.ADMIN,
  viewer: MemberRoleEnum.VIEWER,
};

export function memberToProto(row: MemberRow): Member {
  return create(MemberSchema, {
    userId: row.userId,
    email: row.email,
    role: memberRoleEnums[row.role],
    createdAt: timestampFromDate(row.createdAt),
  });
}

/** No fleet-wide role is MEMBER_ROLE_UNSPECIFIED. */
export function userWithRolesToProto({
  user,
  fleetRole,
  memberships,
}: UserWithRoles): UserWithRolesMessage {
  return create(UserWithRolesSchema, {
    id: user.id,
    email: user.email,
    passwordChangeRequired: user.passwordChangeRequired,
    createdAt: timestampFromDate(user.createdAt),
    fleetRole: fleetRole ? memberRoleEnums[fleetRole] : MemberRoleEnum.UNSPECIFIED,
    memberships: memberships.map((membership) => ({
      organizationId: membership.organizationId,
      role: memberRoleEnums[membership.role],
    })),
  });
}

export {
  createWorkspaceJoinToken,
  deleteAgentFor,
  getAgentFor,
  listWorkspaceAgents,
  updateAgentFor,
  type WorkspaceAgentQuery,
} from "./agents.ts";
export type { PageOf, PageRequest, TenancyDeps } from "./deps.ts";
export { eventVisibility } from "./event-visibility.ts";
export {
  createOrganization,
  deleteOrganization,
  getOrganization,
  listOrganizations,
  type OrganizationInput,
  updateOrganization,
} from "./organizations.ts";
export { type CreateUserInput, createUser, ensureFirstAdmin, firstAdminEmail } from "./users.ts";
export {
  createWorkspace,
  deleteWorkspace,
  getWorkspace,
  listWorkspaces,
  updateWorkspace,
  type WorkspaceInput,
} from "./workspaces.ts";

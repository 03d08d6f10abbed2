/**
 * The one SQLite schema, shared by the bun:sqlite and libsql drivers.
 * Timestamps are integer milliseconds since the epoch; JSON columns are text.
 * Changing this file means `npm run db:generate` and `npm run db:embed`.
 */
import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

export type Role = "agent" | "operator";
export type AgentState = "online" | "offline" | "degraded";
export type HealthSnapshot = Record<string, unknown>;
export type MembershipRole = "owner" | "admin" | "viewer";
/** The scope of a fleet-wide membership, covering every organization. */
export const FLEET_SCOPE = "*";

export const certificates = sqliteTable(
  "certificates",
  {
    serial: text("serial").primaryKey(),
    subjectId: text("subject_id").notNull(),
    role: text("role", { enum: ["agent", "operator"] }).notNull(),
    notAfter: integer("not_after", { mode: "timestamp_ms" }).notNull(),
    issuedAt: integer("issued_at", { mode: "timestamp_ms" }).notNull(),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
  },
  // revokeBySubject runs on every agent removal.
  (t) => [index("certificates_subject_id_idx").on(t.subjectId)],
);

export const joinTokens = sqliteTable("join_tokens", {
  nonceId: text("nonce_id").primaryKey(),
  role: text("role", { enum: ["agent", "operator"] }).notNull(),
  labels: text("labels", { mode: "json" }).$type<Record<string, string>>().notNull(),
  name: text("name"),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
  usedAt: integer("used_at", { mode: "timestamp_ms" }),
  usedBy: text("used_by"),
  revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
  // No foreign key: the agent it admits may join after its workspace is gone.
  workspaceId: text("workspace_id"),
});

export const agents = sqliteTable(
  "agents",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    hostname: text("hostname").notNull(),
    ip: text("ip").notNull(),
    version: text("version").notNull(),
    labels: text("labels", { mode: "json" }).$type<Record<string, string>>().notNull(),
    capabilities: text("capabilities", { mode: "json" }).$type<string[]>().notNull(),
    state: text("state", { enum: ["online", "offline", "degraded"] }).notNull(),
    lastSeenAt: integer("last_seen_at", { mode: "timestamp_ms" }),
    lastHealth: text("last_health", { mode: "json" }).$type<HealthSnapshot>(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
    // Deleting a workspace leaves its agents running, just unassigned.
    workspaceId: text("workspace_id").references(() => workspaces.id, { onDelete: "set null" }),
  },
  (t) => [
    index("agents_state_idx").on(t.state),
    index("agents_workspace_id_idx").on(t.workspaceId),
  ],
);

export const events = sqliteTable("events", {
  // AUTOINCREMENT: seq is never reused, even after old events are pruned,
  // so a watcher's resume cursor stays meaningful.
  seq: integer("seq").primaryKey({ autoIncrement: true }),
  type: text("type").notNull(),
  subjectId: text("subject_id").notNull(),
  // Nullable because drizzle binds a null JSON value as SQL NULL.
  data: text("data", { mode: "json" }).$type<unknown>(),
  at: integer("at", { mode: "timestamp_ms" }).notNull(),
});

// Management: the REST API's users, organizations and workspaces.

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    /** Always lowercase: the repository folds case on insert and lookup. */
    email: text("email").notNull(),
    passwordHash: text("password_hash").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [uniqueIndex("users_email_unique").on(t.email)],
);

export const organizations = sqliteTable(
  "organizations",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    slug: text("slug").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [uniqueIndex("organizations_slug_unique").on(t.slug)],
);

export const memberships = sqliteTable(
  "memberships",
  {
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    // An organization id or "*" (fleet-wide). Not a foreign key because of
    // "*", and not NULL so the primary key also covers fleet-wide rows;
    // organizations.delete removes an organization's memberships itself.
    scope: text("scope").notNull(),
    role: text("role", { enum: ["owner", "admin", "viewer"] }).notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.scope] }),
    // organizations.delete looks memberships up by scope.
    index("memberships_scope_idx").on(t.scope),
  ],
);

export const workspaces = sqliteTable(
  "workspaces",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    slug: text("slug").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  // Leading with organization_id, this also serves lookups and the cascade
  // by organization: a separate index on it would be redundant.
  (t) => [uniqueIndex("workspaces_organization_id_slug_unique").on(t.organizationId, t.slug)],
);

export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    /** SHA-256 hex of the token; the token itself is never stored. */
    id: text("id").primaryKey(),
    familyId: text("family_id").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    usedAt: integer("used_at", { mode: "timestamp_ms" }),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
  },
  (t) => [
    index("refresh_tokens_family_id_idx").on(t.familyId),
    // Without it, deleting a user scans the table for the cascade.
    index("refresh_tokens_user_id_idx").on(t.userId),
  ],
);

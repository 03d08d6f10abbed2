/**
 * The one SQLite schema, shared by the bun:sqlite and libsql drivers.
 * Timestamps are integer milliseconds since the epoch; JSON columns are text.
 * Changing this file means `npm run db:generate` and `npm run db:embed`.
 */
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export type Role = "agent" | "operator";
export type AgentState = "online" | "offline" | "degraded";
export type HealthSnapshot = Record<string, unknown>;

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
  },
  (t) => [index("agents_state_idx").on(t.state)],
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

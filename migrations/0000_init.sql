CREATE TABLE `agents` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`hostname` text NOT NULL,
	`ip` text NOT NULL,
	`version` text NOT NULL,
	`labels` text NOT NULL,
	`capabilities` text NOT NULL,
	`state` text NOT NULL,
	`last_seen_at` integer,
	`last_health` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `agents_state_idx` ON `agents` (`state`);--> statement-breakpoint
CREATE TABLE `certificates` (
	`serial` text PRIMARY KEY NOT NULL,
	`subject_id` text NOT NULL,
	`role` text NOT NULL,
	`not_after` integer NOT NULL,
	`issued_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE INDEX `certificates_subject_id_idx` ON `certificates` (`subject_id`);--> statement-breakpoint
CREATE TABLE `events` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`type` text NOT NULL,
	`subject_id` text NOT NULL,
	`data` text,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `join_tokens` (
	`nonce_id` text PRIMARY KEY NOT NULL,
	`role` text NOT NULL,
	`labels` text NOT NULL,
	`name` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	`used_by` text,
	`revoked_at` integer
);

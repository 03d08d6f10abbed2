CREATE TABLE `exporters` (
	`agent_id` text PRIMARY KEY NOT NULL,
	`claimed_labels` text NOT NULL,
	`reports` text NOT NULL,
	`online` integer DEFAULT false NOT NULL,
	`status` text NOT NULL,
	`status_message` text DEFAULT '' NOT NULL,
	`status_version` integer DEFAULT 0 NOT NULL,
	`previous_status` text,
	`lease_name` text,
	`fencing_token` integer DEFAULT 0 NOT NULL,
	`offline_since` integer,
	`registered_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`agent_id`) REFERENCES `agents`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `exporters_lease_name_unique` ON `exporters` (`lease_name`);--> statement-breakpoint
CREATE TABLE `lease_policies` (
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`position` integer NOT NULL,
	`principals` text NOT NULL,
	`exporter_selector` text NOT NULL,
	`max_duration_ms` integer NOT NULL,
	`max_priority` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `name`),
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `leases` (
	`sequence` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`workspace_id` text NOT NULL,
	`organization_id` text NOT NULL,
	`client` text NOT NULL,
	`selector` text NOT NULL,
	`duration_ms` integer NOT NULL,
	`not_before` integer,
	`priority` integer NOT NULL,
	`requested_at` integer NOT NULL,
	`phase` text NOT NULL,
	`reason` text NOT NULL,
	`message` text DEFAULT '' NOT NULL,
	`exporter_id` text,
	`fencing_token` integer,
	`begin_time` integer,
	`end_time` integer,
	`ended_at` integer,
	`conditions` text NOT NULL,
	`warned_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `leases_name_unique` ON `leases` (`name`);--> statement-breakpoint
CREATE INDEX `leases_phase_priority_sequence_idx` ON `leases` (`phase`,`priority`,`sequence`);--> statement-breakpoint
CREATE INDEX `leases_workspace_id_sequence_idx` ON `leases` (`workspace_id`,`sequence`);--> statement-breakpoint
CREATE INDEX `leases_client_phase_idx` ON `leases` (`client`,`phase`);--> statement-breakpoint
CREATE UNIQUE INDEX `leases_ready_exporter_unique` ON `leases` (`exporter_id`) WHERE "leases"."phase" = 'Ready';
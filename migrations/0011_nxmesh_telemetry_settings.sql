CREATE TABLE `agent_logs` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`agent_id` text NOT NULL,
	`workspace_id` text,
	`timestamp` integer NOT NULL,
	`level` text NOT NULL,
	`message` text NOT NULL,
	`fields` text NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `agent_logs_agent_id_timestamp_idx` ON `agent_logs` (`agent_id`,`timestamp`);--> statement-breakpoint
CREATE INDEX `agent_logs_workspace_id_timestamp_idx` ON `agent_logs` (`workspace_id`,`timestamp`);--> statement-breakpoint
CREATE INDEX `agent_logs_timestamp_idx` ON `agent_logs` (`timestamp`);--> statement-breakpoint
CREATE TABLE `agent_metrics` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`agent_id` text NOT NULL,
	`workspace_id` text,
	`timestamp` integer NOT NULL,
	`name` text NOT NULL,
	`value` real NOT NULL,
	`type` text NOT NULL,
	`labels` text NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `agent_metrics_agent_id_name_timestamp_idx` ON `agent_metrics` (`agent_id`,`name`,`timestamp`);--> statement-breakpoint
CREATE INDEX `agent_metrics_workspace_id_timestamp_idx` ON `agent_metrics` (`workspace_id`,`timestamp`);--> statement-breakpoint
CREATE INDEX `agent_metrics_timestamp_idx` ON `agent_metrics` (`timestamp`);--> statement-breakpoint
ALTER TABLE `access_logs` ADD `request_bytes` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `virtual_hosts` ADD `custom_directives` text;--> statement-breakpoint
ALTER TABLE `workspaces` ADD `global_settings` text;--> statement-breakpoint
ALTER TABLE `workspaces` ADD `alert_thresholds` text;
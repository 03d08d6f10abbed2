CREATE TABLE `agent_files` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`path` text NOT NULL,
	`mode` integer NOT NULL,
	`kind` text NOT NULL,
	`content` text NOT NULL,
	`target_agents` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `agent_files_workspace_id_name_unique` ON `agent_files` (`workspace_id`,`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `agent_files_workspace_id_path_unique` ON `agent_files` (`workspace_id`,`path`);
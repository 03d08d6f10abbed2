CREATE TABLE `agent_config_status` (
	`agent_id` text PRIMARY KEY NOT NULL,
	`desired_version` text NOT NULL,
	`version` text NOT NULL,
	`state` text NOT NULL,
	`applied_version` text,
	`applied_at` integer,
	`duration_ms` integer,
	`errors` text NOT NULL,
	`steps` text NOT NULL,
	`hosts` text NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`agent_id`) REFERENCES `agents`(`id`) ON UPDATE no action ON DELETE cascade
);

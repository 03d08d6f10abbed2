ALTER TABLE `agent_config_status` ADD `files` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `agents` ADD `claimed_labels` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `join_tokens` ADD `allow_self_labels` integer DEFAULT false NOT NULL;
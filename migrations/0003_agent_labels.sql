CREATE TABLE `agent_labels` (
	`agent_id` text NOT NULL,
	`key` text NOT NULL,
	`value` text NOT NULL,
	PRIMARY KEY(`agent_id`, `key`),
	FOREIGN KEY (`agent_id`) REFERENCES `agents`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `agent_labels_key_value_idx` ON `agent_labels` (`key`,`value`,`agent_id`);--> statement-breakpoint
DROP INDEX `agents_workspace_id_idx`;--> statement-breakpoint
CREATE INDEX `agents_workspace_id_id_idx` ON `agents` (`workspace_id`,`id`);--> statement-breakpoint
-- Added by hand: drizzle-kit generates DDL only. Backfills agent_labels from
-- the labels JSON of existing agents; from here on the agents repository
-- keeps both in step.
INSERT INTO `agent_labels` (`agent_id`, `key`, `value`) SELECT `agents`.`id`, je.`key`, je.`value` FROM `agents`, json_each(`agents`.`labels`) AS je;

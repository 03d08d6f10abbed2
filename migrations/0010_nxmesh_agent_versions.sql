ALTER TABLE `agent_config_status` ADD `desired_revision` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `agent_config_status` ADD `revision` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `agent_config_status` ADD `applied_revision` integer;--> statement-breakpoint
ALTER TABLE `agents` ADD `deployment_mode` text DEFAULT 'standalone' NOT NULL;--> statement-breakpoint
-- Statuses from before numbering: the applied hash is version 1, a different desired hash is 2.
UPDATE `agent_config_status` SET
  `desired_revision` = CASE WHEN `applied_version` IS NULL OR `applied_version` = `desired_version` THEN 1 ELSE 2 END,
  `revision` = CASE WHEN `version` = `desired_version` AND `applied_version` IS NOT NULL AND `applied_version` <> `desired_version` THEN 2 ELSE 1 END,
  `applied_revision` = CASE WHEN `applied_version` IS NULL THEN NULL ELSE 1 END;

-- Wait at most 5 s for each lock: behind a long transaction, fail the deploy (retry it)
-- rather than queue every request behind this migration.
SET LOCAL lock_timeout = '5s';--> statement-breakpoint
ALTER TABLE "run" ALTER COLUMN "request" SET DATA TYPE json;
-- Tags as a json array instead of text[]: the app's database client reads no array types.
-- Wait at most 5 s for each lock: behind a long transaction, fail the deploy (retry it)
-- rather than queue every request behind this migration.
SET LOCAL lock_timeout = '5s';--> statement-breakpoint
ALTER TABLE "job" ALTER COLUMN "tags" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "job" ALTER COLUMN "tags" SET DATA TYPE jsonb USING to_jsonb("tags");--> statement-breakpoint
ALTER TABLE "job" ALTER COLUMN "tags" SET DEFAULT '[]'::jsonb;

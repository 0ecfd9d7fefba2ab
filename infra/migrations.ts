/**
 * Migrations on deploy: a migrator Lambda (in the VPC, linked to the database, with
 * `migrations/` copied into its package) that `aws.lambda.Invocation` runs during the deploy
 * whenever the migrations folder's content changed (or the database was replaced). A failed
 * migration fails the invocation, so the deploy stops before the new API code goes live:
 * api.ts makes the API function wait for this invocation.
 *
 * Not in `sst dev`: there the database is the local Postgres, which `pnpm start` migrates.
 */
import path from "node:path";
import { database } from "./database";
import { hashDirectory } from "./hash";
import { lambdaDefaults } from "./lambda";
import { settings } from "./settings";

const migrationsHash = hashDirectory(path.join($cli.paths.root, "migrations"));

export const migrator = $dev
  ? undefined
  : new sst.aws.Function("Migrator", {
      description: "Applies migrations/ to the database on deploy",
      handler: "packages/functions/src/migrator.handler",
      ...lambdaDefaults,
      memory: `${settings.migrator.memoryMb} MB`,
      timeout: `${settings.migrator.timeoutSeconds} seconds`,
      link: [database],
      copyFiles: [{ from: "migrations", to: "migrations" }],
    });

export const migrated = migrator
  ? new aws.lambda.Invocation(
      "MigrateOnDeploy",
      {
        functionName: migrator.name,
        input: JSON.stringify({ migrations: migrationsHash }),
        triggers: { migrations: migrationsHash, database: database.id },
      },
      // The whole database component, so that with RDS Proxy its target is registered too.
      { dependsOn: [database] },
    )
  : undefined;

/** Hourly housekeeping Lambda: purges expired Idempotency-Keys (packages/functions/src/maintenance.ts). */
import { database } from "./database";
import { vpc } from "./network";
import { settings } from "./settings";

export const maintenance = new sst.aws.Cron("Maintenance", {
  schedule: "rate(1 hour)",
  job: {
    description: "fred-platform housekeeping: expired Idempotency-Keys",
    handler: "packages/functions/src/maintenance.handler",
    runtime: "nodejs22.x",
    architecture: "arm64",
    timeout: "1 minute",
    vpc,
    link: [database],
    logging: { format: "json", retention: settings.api.logRetention },
    nodejs: { format: "esm", minify: true },
  },
});

/// <reference path="./.sst/platform/config.d.ts" />
/**
 * fred-platform on AWS: `sst deploy --stage <stage>` builds everything in dependency order
 * (see docs/deploy.md). Per-stage choices live in infra/stage.ts; infra/* has one file per
 * concern. SST forbids top-level imports here, hence the dynamic imports.
 */
export default $config({
  async app(input) {
    const { stageSettings } = await import("./infra/stage");
    const stage = stageSettings(input?.stage ?? "dev", process.env);
    return {
      name: "fred-platform",
      home: "aws",
      removal: stage.removal,
      protect: stage.protect,
    };
  },
  async run() {
    await import("./infra/network");
    const { database } = await import("./infra/database");
    const { uploads } = await import("./infra/storage");
    await import("./infra/secrets");
    const { migrator } = await import("./infra/migrations");
    const { api, apiFunction } = await import("./infra/api");
    const { alerts } = await import("./infra/monitoring");
    await import("./infra/maintenance");
    await import("./infra/dev");

    return {
      api: api.url,
      bucket: uploads.name,
      databaseHost: database.host,
      alerts: alerts.arn,
      // For `aws logs tail` and `aws lambda invoke` (see docs/deploy.md).
      apiFunction: apiFunction.name,
      accessLog: api.nodes.logGroup?.name,
      ...(migrator ? { migrator: migrator.name } : {}),
    };
  },
});

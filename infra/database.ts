/**
 * RDS Postgres 17 in the private subnets. Production adds RDS Proxy (Lambda connection
 * storms become a pool), multi-AZ, deletion protection and a final snapshot; SST's defaults
 * skip the final snapshot, so the instance is transformed to take one.
 *
 * In `sst dev` no RDS is created: the `dev` block points every link at the local Postgres
 * that `PGPORT=54320 pnpm start` runs (see docs/deploy.md).
 */
import { vpc } from "./network";
import { settings } from "./settings";
import { LOCAL_POSTGRES } from "./stage";

const db = settings.database;

export const database = new sst.aws.Postgres("Database", {
  vpc,
  version: db.version,
  instance: db.instance,
  storage: db.storage,
  proxy: db.proxy,
  multiAz: db.multiAz,
  dev: { ...LOCAL_POSTGRES },
  transform: {
    instance: (args) => {
      args.deletionProtection = db.deletionProtection;
      args.skipFinalSnapshot = !db.finalSnapshot;
      if (db.finalSnapshot) {
        args.finalSnapshotIdentifier = `${$app.name}-${$app.stage}-database-final`;
      }
      args.backupRetentionPeriod = db.backupRetentionDays;
      args.copyTagsToSnapshot = true;
      args.autoMinorVersionUpgrade = true;
    },
  },
});

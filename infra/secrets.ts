/**
 * Secrets live in SST's encrypted secret store (`sst secret set AdminToken <value> --stage
 * <stage>`), never in the repo or in plain environment variables: linked functions get them
 * inside SST's encrypted resource file. A deploy fails until every secret is set.
 */
export const adminToken = new sst.Secret("AdminToken");

export const secrets = [adminToken];

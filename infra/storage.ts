/**
 * The upload bucket. Private (public access blocked), TLS-only (a bucket policy denies
 * requests without aws:SecureTransport), CORS only for the allowed origins (browsers PUT and
 * GET through presigned URLs), versioned and never force-destroyed in production, and a
 * lifecycle rule that aborts multipart uploads a client never completed.
 */
import { settings } from "./settings";

const origins = settings.cors.allowedOrigins;

export const uploads = new sst.aws.Bucket("Uploads", {
  enforceHttps: true,
  versioning: settings.storage.versioning,
  cors: origins.length
    ? {
        allowOrigins: origins,
        allowMethods: ["GET", "HEAD", "PUT"],
        allowHeaders: ["*"],
        exposeHeaders: ["ETag"],
        maxAge: "1 hour",
      }
    : false,
  transform: {
    bucket: (args) => {
      args.forceDestroy = settings.storage.forceDestroy;
    },
  },
});

const noncurrentDays = settings.storage.noncurrentVersionsExpireAfterDays;

export const uploadsLifecycle = new aws.s3.BucketLifecycleConfigurationV2("UploadsLifecycle", {
  bucket: uploads.name,
  rules: [
    {
      id: "abort-incomplete-multipart-uploads",
      status: "Enabled",
      filter: { prefix: "" },
      abortIncompleteMultipartUpload: {
        daysAfterInitiation: settings.storage.abortIncompleteUploadsAfterDays,
      },
    },
    ...(noncurrentDays
      ? [
          {
            id: "expire-noncurrent-versions",
            status: "Enabled",
            filter: { prefix: "" },
            noncurrentVersionExpiration: { noncurrentDays },
          },
        ]
      : []),
  ],
});

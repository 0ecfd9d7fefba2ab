/**
 * The HTTP API: ONE Lambda running the Hono app, behind an API Gateway REST API (regional).
 * `ANY /` and `ANY /{proxy+}` both point at that function by ARN (a handler string per route
 * would build one Lambda per route). The gateway does no CORS (`cors: false`: it could only
 * allow `*`); the app applies the allow-list, and gateway responses add CORS headers to the
 * errors the gateway makes itself (429, 502, 504). Stage throttling per stage, access logs
 * with retention.
 */
import { database } from "./database";
import { lambdaDefaults } from "./lambda";
import { migrated } from "./migrations";
import { secrets } from "./secrets";
import { settings } from "./settings";
import { GATEWAY_RESPONSES, gatewayCorsHeaders, gatewayResponseTemplate } from "./stage";
import { uploads } from "./storage";

export const apiFunction = new sst.aws.Function("ApiFunction", {
  description: "fred-platform HTTP API (Hono)",
  handler: "packages/functions/src/api.handler",
  ...lambdaDefaults,
  memory: `${settings.api.memoryMb} MB`,
  timeout: `${settings.api.timeoutSeconds} seconds`,
  link: [database, uploads, ...secrets],
  environment: settings.api.environment,
  transform: {
    function: (_args, opts) => {
      // New code goes live only after the migrations it expects have been applied.
      if (migrated) opts.dependsOn = [migrated];
    },
  },
});

export const api = new sst.aws.ApiGatewayV1("Api", {
  endpoint: { type: "regional" },
  cors: false,
  accessLog: { retention: settings.api.accessLogRetention },
  transform: {
    api: (args) => {
      // Let gzip-compressed responses through as binary: the app compresses large lists
      // (a job's runs) so they stay under Lambda's 6 MB response limit. With "*/*" the
      // gateway also hands request bodies over base64-encoded; the Lambda adapter decodes them.
      args.binaryMediaTypes = ["*/*"];
      // Everything else from 8 KiB (a batch's runs, a list of jobs) is compressed by the
      // gateway, at no cost to the function; it leaves alone what the app compressed.
      args.minimumCompressionSize = String(settings.api.minimumCompressionSize);
    },
    deployment: (args, opts) => {
      // Gateway responses take effect with a deployment: redeploy when they change.
      args.triggers = $util.output(args.triggers).apply((triggers) => ({
        ...triggers,
        gatewayResponses: gatewayResponsesFingerprint,
      }));
      opts.dependsOn = gatewayResponses;
    },
  },
});

const corsHeaders = gatewayCorsHeaders(settings.cors.allowedOrigins);
const gatewayResponses = GATEWAY_RESPONSES.map(
  ({ type, code }) =>
    new aws.apigateway.Response(`ApiGatewayResponse${pascal(type)}`, {
      restApiId: api.nodes.api.id,
      responseType: type,
      responseParameters: corsHeaders,
      responseTemplates: { "application/json": gatewayResponseTemplate(code) },
    }),
);
const gatewayResponsesFingerprint = JSON.stringify({ corsHeaders, GATEWAY_RESPONSES });

api.route("ANY /", apiFunction.arn);
api.route("ANY /{proxy+}", apiFunction.arn);
api.deploy();

const stage = api.nodes.stage;
if (!stage) throw new Error("Api: the stage exists only after deploy()");

export const apiThrottling = new aws.apigateway.MethodSettings("ApiThrottling", {
  restApi: api.nodes.api.id,
  stageName: stage.stageName,
  methodPath: "*/*",
  settings: {
    throttlingRateLimit: settings.api.throttle.rateLimit,
    throttlingBurstLimit: settings.api.throttle.burstLimit,
    // Stage-level metrics (Count, 4XX, 5XX, Latency) are free; per-method ones are not.
    metricsEnabled: false,
    // Execution logs go to a log group without retention; access logs cover requests.
    loggingLevel: "OFF",
  },
});

function pascal(type: string): string {
  return type
    .toLowerCase()
    .split("_")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join("");
}

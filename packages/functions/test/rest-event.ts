/**
 * An API Gateway REST API (v1) proxy event, as the `ANY /` and `ANY /{proxy+}` routes
 * deliver it to the Lambda: for the handler tests and the bundle tests alike.
 */
import type { handler } from "../src/api";

type Event = Parameters<typeof handler>[0];

export function restEvent(
  method: string,
  path: string,
  options: {
    headers?: Record<string, string>;
    query?: Record<string, string[]>;
    body?: string;
    base64?: boolean;
    /** A custom domain's base path mapping, e.g. "/v1". */
    basePath?: string;
    resource?: string;
  } = {},
): Event {
  const headers = { host: "abc123.execute-api.us-east-1.amazonaws.com", ...options.headers };
  const query = options.query;
  const resource = options.resource ?? (path === "/" ? "/" : "/{proxy+}");
  return {
    resource,
    path: `${options.basePath ?? ""}${path}`,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: query
      ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, v.at(-1)!]))
      : undefined,
    multiValueQueryStringParameters: query,
    pathParameters: resource === "/{proxy+}" ? { proxy: path.slice(1) } : undefined,
    stageVariables: undefined,
    requestContext: {
      accountId: "123456789012",
      apiId: "abc123",
      domainName: "abc123.execute-api.us-east-1.amazonaws.com",
      domainPrefix: "abc123",
      extendedRequestId: "ext-1",
      httpMethod: method,
      identity: { sourceIp: "203.0.113.9", userAgent: "curl/8" },
      path: `/prod${path}`,
      protocol: "HTTP/1.1",
      requestId: "gw-request-id-1",
      requestTime: "23/Nov/2026:06:40:00 +0000",
      requestTimeEpoch: 1795000000000,
      resourceId: "res1",
      resourcePath: resource,
      stage: "prod",
    },
    body: options.body ?? null,
    isBase64Encoded: options.base64 ?? false,
    version: "1.0",
  } as unknown as Event;
}

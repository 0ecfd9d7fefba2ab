/** API Gateway REST (v1) proxy events, as the gateway sends them for `ANY /{proxy+}`. */

export interface RestEventOptions {
  headers?: Record<string, string>;
  query?: Record<string, string>;
  body?: string;
}

let counter = 0;

export function restEvent(method: string, pathAndQuery: string, options: RestEventOptions = {}) {
  const [path = "/", search = ""] = pathAndQuery.split("?");
  const query = { ...Object.fromEntries(new URLSearchParams(search)), ...options.query };
  const hasQuery = Object.keys(query).length > 0;
  const headers: Record<string, string> = {
    host: "abc123.execute-api.us-east-1.amazonaws.com",
    "user-agent": "fred-bench",
    "x-forwarded-for": "203.0.113.9",
    "x-forwarded-proto": "https",
    ...options.headers,
  };
  const resource = path === "/" ? "/" : "/{proxy+}";
  const requestId = `bench-${process.pid}-${++counter}`;
  return {
    resource,
    path,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery
      ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]]))
      : null,
    pathParameters: resource === "/{proxy+}" ? { proxy: path.slice(1) } : null,
    stageVariables: null,
    requestContext: {
      accountId: "123456789012",
      apiId: "abc123",
      domainName: "abc123.execute-api.us-east-1.amazonaws.com",
      domainPrefix: "abc123",
      extendedRequestId: requestId,
      httpMethod: method,
      identity: { sourceIp: "203.0.113.9", userAgent: "fred-bench" },
      path: `/bench${path}`,
      protocol: "HTTP/1.1",
      requestId,
      requestTime: new Date().toUTCString(),
      requestTimeEpoch: Date.now(),
      resourceId: "res1",
      resourcePath: resource,
      stage: "bench",
    },
    // As the gateway hands bodies over: base64, since binaryMediaTypes is "*/*" (infra/api.ts).
    body: options.body === undefined ? null : Buffer.from(options.body).toString("base64"),
    isBase64Encoded: options.body !== undefined,
  };
}

export function lambdaContext() {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: "fred-bench",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:fred-bench",
    memoryLimitInMB: "1024",
    awsRequestId: `bench-${process.pid}-${++counter}`,
    logGroupName: "/aws/lambda/fred-bench",
    logStreamName: "bench",
    getRemainingTimeInMillis: () => 29_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

export interface LambdaResult {
  statusCode: number;
  body: string;
  headers?: Record<string, string>;
  isBase64Encoded?: boolean;
}

export type LambdaHandler = (event: never, context: never) => Promise<unknown>;

/** Calls a handler with a fresh event and context; throws on an unexpected status. */
export async function invoke(
  handler: LambdaHandler,
  event: ReturnType<typeof restEvent>,
  expect: number | ((status: number) => boolean) = (s) => s >= 200 && s < 300,
): Promise<LambdaResult> {
  const res = (await handler(event as never, lambdaContext() as never)) as LambdaResult;
  const ok = typeof expect === "number" ? res.statusCode === expect : expect(res.statusCode);
  if (!ok) {
    throw new Error(
      `${event.httpMethod} ${event.path} answered ${res.statusCode}: ${res.body.slice(0, 300)}`,
    );
  }
  return res;
}

/**
 * Alarms → one SNS topic (and an e-mail subscription when FRED_ALARM_EMAIL is set at deploy
 * time). Lambda: Errors, Throttles, Duration p95 above 80 % of the timeout. API Gateway:
 * 5XXError and Latency p95. Thresholds come from the stage settings.
 */
import { api, apiFunction } from "./api";
import { settings } from "./settings";

const a = settings.alarms;

export const alerts = new sst.aws.SnsTopic("Alerts");

export const alertEmail = a.email
  ? new aws.sns.TopicSubscription("AlertsEmail", {
      topic: alerts.arn,
      protocol: "email",
      endpoint: a.email,
    })
  : undefined;

const stage = api.nodes.stage;
if (!stage) throw new Error("Api: the stage exists only after deploy()");

const lambda = { FunctionName: apiFunction.name };
const gateway = { ApiName: api.nodes.api.name, Stage: stage.stageName };

function alarm(
  name: string,
  args: Omit<
    aws.cloudwatch.MetricAlarmArgs,
    "alarmActions" | "okActions" | "period" | "treatMissingData"
  >,
) {
  return new aws.cloudwatch.MetricAlarm(name, {
    period: a.periodSeconds,
    treatMissingData: "notBreaching",
    alarmActions: [alerts.arn],
    okActions: [alerts.arn],
    ...args,
    alarmDescription: $interpolate`${$app.name} ${$app.stage}: ${args.alarmDescription ?? name}`,
  });
}

export const alarms = [
  alarm("ApiFunctionErrors", {
    alarmDescription: `API Lambda errors >= ${a.lambdaErrors} in ${a.periodSeconds / 60} min`,
    namespace: "AWS/Lambda",
    metricName: "Errors",
    dimensions: lambda,
    statistic: "Sum",
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    threshold: a.lambdaErrors,
    evaluationPeriods: 1,
  }),
  alarm("ApiFunctionThrottles", {
    alarmDescription: `API Lambda throttles >= ${a.lambdaThrottles} in ${a.periodSeconds / 60} min`,
    namespace: "AWS/Lambda",
    metricName: "Throttles",
    dimensions: lambda,
    statistic: "Sum",
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    threshold: a.lambdaThrottles,
    evaluationPeriods: 1,
  }),
  alarm("ApiFunctionDurationP95", {
    alarmDescription: `API Lambda p95 duration > ${a.lambdaDurationP95Ms} ms (80% of the ${settings.api.timeoutSeconds} s timeout)`,
    namespace: "AWS/Lambda",
    metricName: "Duration",
    dimensions: lambda,
    extendedStatistic: "p95",
    comparisonOperator: "GreaterThanThreshold",
    threshold: a.lambdaDurationP95Ms,
    evaluationPeriods: a.latencyEvaluationPeriods,
  }),
  alarm("Api5xxErrors", {
    alarmDescription: `API Gateway 5XX responses >= ${a.api5xxErrors} in ${a.periodSeconds / 60} min`,
    namespace: "AWS/ApiGateway",
    metricName: "5XXError",
    dimensions: gateway,
    statistic: "Sum",
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    threshold: a.api5xxErrors,
    evaluationPeriods: 1,
  }),
  alarm("ApiLatencyP95", {
    alarmDescription: `API Gateway p95 latency > ${a.apiLatencyP95Ms} ms`,
    namespace: "AWS/ApiGateway",
    metricName: "Latency",
    dimensions: gateway,
    extendedStatistic: "p95",
    comparisonOperator: "GreaterThanThreshold",
    threshold: a.apiLatencyP95Ms,
    evaluationPeriods: a.latencyEvaluationPeriods,
  }),
];

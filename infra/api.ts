import { routes } from "../packages/core/src/http/routes";
import { httpApiCors } from "../packages/resources/src/cors";
import { apiThrottling } from "../packages/resources/src/definitions";
import { api as apiFunction, ingest, stripeIngest } from "./functions";

const throttling = $app.stage === "production" ? apiThrottling.production : apiThrottling.default;

/** The HTTP API: every route of spec sections 2 and 5, each pointing at the function the route table names. */
export const httpApi = new sst.aws.ApiGatewayV2("HttpApi", {
  accessLog: { retention: "1 month" },
  // analytics.js on customers' sites calls the tracking API, and the Console (infra/console.ts)
  // the read API, both from other origins; API Gateway answers their preflights. Why each value:
  // packages/resources/src/cors.ts (the local stack answers from the same values).
  cors: {
    allowOrigins: [...httpApiCors.allowOrigins],
    allowMethods: [...httpApiCors.allowMethods],
    allowHeaders: [...httpApiCors.allowHeaders],
    allowCredentials: httpApiCors.allowCredentials,
    maxAge: `${httpApiCors.maxAgeSeconds} seconds`,
  },
  transform: {
    stage: (args) => {
      args.defaultRouteSettings = {
        throttlingBurstLimit: throttling.burstLimit,
        throttlingRateLimit: throttling.rateLimit,
      };
    },
  },
});

const targets = { ingest: ingest.arn, "stripe-ingest": stripeIngest.arn, api: apiFunction.arn };
for (const route of routes) {
  httpApi.route(`${route.method} ${route.path}`, targets[route.function]);
}

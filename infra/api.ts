import { apiThrottling } from "../packages/resources/src/definitions";
import { routes } from "../packages/resources/src/routes";
import { api as apiFunction, ingest } from "./functions";

const throttling = $app.stage === "production" ? apiThrottling.production : apiThrottling.default;

/** The HTTP API: every route of spec sections 2 and 5, each pointing at one of two functions. */
export const httpApi = new sst.aws.ApiGatewayV2("HttpApi", {
  accessLog: { retention: "1 month" },
  cors: false,
  transform: {
    stage: (args) => {
      args.defaultRouteSettings = {
        throttlingBurstLimit: throttling.burstLimit,
        throttlingRateLimit: throttling.rateLimit,
      };
    },
  },
});

const targets = { ingest: ingest.arn, api: apiFunction.arn };
for (const route of routes) {
  httpApi.route(`${route.method} ${route.path}`, targets[route.function]);
}

import { apiThrottling } from "../packages/resources/src/definitions";
import { routes } from "../packages/resources/src/routes";
import { api as apiFunction, ingest } from "./functions";

const throttling = $app.stage === "production" ? apiThrottling.production : apiThrottling.default;

/** The HTTP API: every route of spec sections 2 and 5, each pointing at one of two functions. */
export const httpApi = new sst.aws.ApiGatewayV2("HttpApi", {
  accessLog: { retention: "1 month" },
  // The Console (infra/console.ts) is served from another origin and calls the read API with a
  // Bearer key. No cookies are ever accepted, so any origin may call: a page can only use a key
  // its user gave it.
  cors: {
    allowOrigins: ["*"],
    allowMethods: ["GET", "PUT", "DELETE"],
    allowHeaders: ["authorization", "content-type"],
    allowCredentials: false,
    maxAge: "1 day",
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

const targets = { ingest: ingest.arn, api: apiFunction.arn };
for (const route of routes) {
  httpApi.route(`${route.method} ${route.path}`, targets[route.function]);
}

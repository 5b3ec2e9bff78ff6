import { httpApi } from "./api";

/**
 * The Console (packages/console): a static single-page app on S3 and CloudFront that calls the
 * HTTP API from the browser with a workspace API key. Built at deploy time with the API's URL.
 */
export const consoleSite = new sst.aws.StaticSite("Console", {
  path: ".",
  build: { command: "npm run console:build", output: "packages/console/dist" },
  environment: { VITE_API_URL: httpApi.url },
  // `sst dev` runs Vite's dev server instead of deploying the site.
  dev: { command: "npm run console:dev", url: "http://localhost:5173" },
});

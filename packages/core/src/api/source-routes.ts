import { NoQuery } from "./query";
import { SourceStatus, SourceStatusPage } from "./source-schemas";

/** The sources routes of the API route table (`routes.ts` lists them with the others). */
export const sourceRoutes = [
  {
    operation: "listSources",
    method: "GET",
    path: "/v1/sources",
    summary: "The workspace's sources, each with its webhook path and delivery counters",
    description:
      "Counters are kept per source and UTC day as requests arrive (not counted from events): calls accepted today and in the last hour, the last delivery, signature failures and refused requests by code.",
    auth: true,
    query: NoQuery,
    responses: { 200: { description: "Every source (one page)", body: SourceStatusPage } },
  },
  {
    operation: "getSource",
    method: "GET",
    path: "/v1/sources/{name}",
    summary: "One source, with its webhook path and delivery counters",
    auth: true,
    query: NoQuery,
    responses: {
      200: { description: "The source", body: SourceStatus },
      404: { description: "No such source (`source.not_found`)" },
    },
  },
] as const;

import type { InfraModel } from "../support/infra-model";

/**
 * API Gateway HTTP API's answer to a CORS preflight, from the API's `cors` settings (API Gateway
 * answers `OPTIONS` itself when CORS is configured; the functions never see it). A preflight
 * passes when the origin, the requested method and every requested header are allowed
 * (case-insensitively for headers; `*` allows any).
 */

export interface Preflight {
  origin: string;
  method: string;
  /** `Access-Control-Request-Headers`, as a browser sends them (lower-case). */
  headers: string[];
}

export interface PreflightAnswer {
  allowed: boolean;
  /** What is missing, when not allowed. */
  refused: string[];
  headers: Record<string, string>;
}

export function preflightAnswer(cors: InfraModel["httpApi"]["cors"] | undefined, request: Preflight): PreflightAnswer {
  if (!cors) return { allowed: false, refused: ["no CORS configuration"], headers: {} };
  const refused: string[] = [];
  const anyOrigin = cors.allowOrigins.includes("*");
  if (!anyOrigin && !cors.allowOrigins.includes(request.origin)) refused.push(`origin ${request.origin}`);
  const methods = cors.allowMethods.map((m) => m.toUpperCase());
  if (!methods.includes("*") && !methods.includes(request.method.toUpperCase()))
    refused.push(`method ${request.method}`);
  const allowedHeaders = cors.allowHeaders.map((h) => h.toLowerCase());
  for (const header of request.headers) {
    if (!allowedHeaders.includes("*") && !allowedHeaders.includes(header.toLowerCase()))
      refused.push(`header ${header}`);
  }
  if (refused.length > 0) return { allowed: false, refused, headers: {} };
  return {
    allowed: true,
    refused,
    headers: {
      "access-control-allow-origin": anyOrigin ? "*" : request.origin,
      "access-control-allow-methods": cors.allowMethods.join(","),
      "access-control-allow-headers": cors.allowHeaders.join(","),
      ...(cors.maxAge ? { "access-control-max-age": String(cors.maxAge) } : {}),
    },
  };
}

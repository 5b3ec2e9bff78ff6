import { createServer, type IncomingMessage, type Server } from "node:http";
import type { APIGatewayProxyResultV2 } from "aws-lambda";
import { writeApiGatewayResult } from "../../packages/local/src/http-adapter";
import { deployedRequestPath } from "../../packages/resources/src/definitions";
import type { InfraModel } from "../support/infra-model";
import { preflightAnswer } from "./api-gateway-cors";
import { apiGatewayEvent } from "./aws-events";
import type { LambdaProcess } from "./lambda-process";

/**
 * A stand-in for the deployed HTTP API on a loopback port, in front of the rehearsal's function
 * processes, so HTTP clients (the smoke test) can be pointed at it as at `<apiUrl>`. It does what
 * API Gateway does with this app's settings (read from SST's components, infra-model.ts): matches
 * the request to a route (`404 {"message":"Not Found"}` otherwise), answers CORS preflights from
 * the API's CORS settings, invokes the route's function with a payload 2.0 event, adds
 * `access-control-allow-origin` to answers for an allowed origin, refuses payloads over 10 MB, and
 * answers `500 {"message":"Internal Server Error"}` when the function fails.
 */

export interface ApiGatewayServer {
  url: string;
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    request.on("data", (chunk: Buffer) => {
      total += chunk.length;
      if (total <= deployedRequestPath.apiGatewayPayloadBytes) chunks.push(chunk);
    });
    request.once("end", () =>
      resolve(total > deployedRequestPath.apiGatewayPayloadBytes ? undefined : Buffer.concat(chunks)),
    );
    request.once("error", reject);
  });
}

const textTypes = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded))/i;

export async function startApiGatewayServer(
  infra: InfraModel,
  functions: Record<string, LambdaProcess>,
  api: { apiId: string; region: string },
): Promise<ApiGatewayServer> {
  const routeKeys = infra.httpApi.routes.map((r) => r.route);
  const server: Server = createServer((request, response) => {
    void (async () => {
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        response.writeHead(status, { "content-type": "application/json", ...headers });
        response.end(JSON.stringify(body));
      };
      const origin = request.headers.origin;
      const method = (request.method ?? "GET").toUpperCase();
      const requestedMethod = request.headers["access-control-request-method"];
      if (method === "OPTIONS" && origin && typeof requestedMethod === "string") {
        const requested = String(request.headers["access-control-request-headers"] ?? "")
          .split(",")
          .map((h) => h.trim().toLowerCase())
          .filter(Boolean);
        const answer = preflightAnswer(infra.httpApi.cors, { origin, method: requestedMethod, headers: requested });
        response.writeHead(204, answer.headers);
        response.end();
        return;
      }
      const body = await readBody(request);
      if (body === undefined) return json(413, { message: "Request Entity Too Large" });
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) {
        if (value !== undefined && name !== "cookie") headers[name] = Array.isArray(value) ? value.join(",") : value;
      }
      const cookies = request.headers.cookie?.split(";").map((c) => c.trim());
      let event: ReturnType<typeof apiGatewayEvent>;
      try {
        event = apiGatewayEvent(
          routeKeys,
          {
            method,
            url: request.url ?? "/",
            headers,
            ...(cookies ? { cookies } : {}),
            ...(body.length > 0 ? { body, base64: !textTypes.test(headers["content-type"] ?? "") } : {}),
          },
          api,
        );
      } catch (error) {
        const message = (error as Error).message;
        return message.includes("404") ? json(404, { message: "Not Found" }) : json(413, { message });
      }
      const route = infra.httpApi.routes.find((r) => r.route === event.routeKey);
      const target = route ? functions[route.function] : undefined;
      if (!target) return json(500, { message: "Internal Server Error" });
      let result: APIGatewayProxyResultV2;
      try {
        result = await target.invoke<APIGatewayProxyResultV2>(event);
      } catch {
        return json(500, { message: "Internal Server Error" });
      }
      const cors = origin ? preflightAnswer(infra.httpApi.cors, { origin, method, headers: [] }) : undefined;
      if (cors?.allowed)
        response.setHeader("access-control-allow-origin", cors.headers["access-control-allow-origin"] ?? "*");
      writeApiGatewayResult(response, result);
    })().catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

import { type ChildProcess, fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { type InfraFunction, resolveTokens } from "../support/infra-model";
import type { FunctionPackage } from "./lambda-bundle";

/**
 * A deployed function as a fresh Node process with exactly the environment Lambda gives it, and
 * a way to invoke it. The environment has three parts, kept apart so each is visible:
 * - what SST sets on the Lambda function, as SST's own Function component computed it under
 *   Pulumi's mocks (infra-model.ts): infra's `environment` plus `SST_RESOURCE_App`, `SST_KEY`
 *   and `SST_KEY_FILE` (.sst/platform/src/components/aws/function.ts, `normalizeEnvironment`);
 * - what the Lambda runtime defines for every function (AWS's "defined runtime environment
 *   variables"): region, credentials, function name, memory, handler, task root, time zone;
 * - what only the rehearsal adds, because AWS is not here: `AWS_ENDPOINT_URL_DYNAMODB` and
 *   `AWS_ENDPOINT_URL_SQS` (the SDK's own endpoint settings, read by the SDK, never by our code),
 *   `AWS_CALL_LOG` (the SDK call audit, see packages/aws/src/clients.ts), and the SDK's Node
 *   version notice turned off (this machine runs Node 20; Lambda runs the runtime infra names).
 */

export interface DeployedEnvironment {
  sst: Record<string, string>;
  lambda: Record<string, string>;
  rehearsal: Record<string, string>;
}

export interface StageValues {
  region: string;
  /** Token values for `{{Component.attribute}}` (table names, queue URLs and ARNs). */
  tokens: Record<string, string>;
  dynamoEndpoint: string;
  sqsEndpoint: string;
  callLog?: string;
}

/**
 * Builds the environment a function gets once deployed, from infra's definition of it.
 *
 * @example
 * const env = deployedEnvironment(infra.functions.ingest, pkg, stage);
 */
export function deployedEnvironment(fn: InfraFunction, pkg: FunctionPackage, stage: StageValues): DeployedEnvironment {
  const sst: Record<string, string> = {};
  for (const [name, value] of Object.entries(fn.environment)) sst[name] = resolveTokens(String(value), stage.tokens);

  const functionName = fn.functionName;
  const lambda: Record<string, string> = {
    _HANDLER: pkg.handler,
    AWS_REGION: stage.region,
    AWS_DEFAULT_REGION: stage.region,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `2026/01/01/[$LATEST]${randomUUID().replaceAll("-", "")}`,
    AWS_ACCESS_KEY_ID: "ASIAREHEARSAL",
    AWS_SECRET_ACCESS_KEY: "rehearsal",
    AWS_SESSION_TOKEN: "rehearsal",
    LAMBDA_TASK_ROOT: pkg.dir,
    LAMBDA_RUNTIME_DIR: "/var/runtime",
    LANG: "en_US.UTF-8",
    TZ: ":UTC",
    PATH: "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
  };
  const rehearsal: Record<string, string> = {
    AWS_ENDPOINT_URL_DYNAMODB: stage.dynamoEndpoint,
    AWS_ENDPOINT_URL_SQS: stage.sqsEndpoint,
    ...(stage.callLog ? { AWS_CALL_LOG: stage.callLog } : {}),
  };
  return { sst, lambda, rehearsal };
}

export interface InvokeError {
  errorType: string;
  errorMessage: string;
  stack?: string;
}

export interface LambdaProcess {
  name: string;
  env: Record<string, string>;
  /** Invokes the handler; rejects with the handler's error, or when the function's timeout passes. */
  invoke<T = unknown>(event: unknown): Promise<T>;
  /** stdout and stderr so far (the function's log lines). */
  output(): string;
  stop(): Promise<void>;
}

const runtimeScript = join(import.meta.dirname, "lambda-runtime.mjs");

/**
 * Starts the function's package in a new Node process and waits for its module to load (Lambda's
 * init phase).
 *
 * @example
 * const ingest = await startLambdaProcess("ingest", pkg, env, 10_000);
 * const answer = await ingest.invoke(apiGatewayEvent);
 */
export async function startLambdaProcess(
  name: string,
  pkg: FunctionPackage,
  environment: DeployedEnvironment,
  timeoutMs: number,
): Promise<LambdaProcess> {
  const env = { ...environment.sst, ...environment.lambda, ...environment.rehearsal };
  const child: ChildProcess = fork(runtimeScript, [], {
    cwd: pkg.dir,
    env,
    execArgv: [],
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const pending = new Map<string, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("exit", (code, signal) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${name} exited (${code ?? signal}): ${output}`));
    pending.clear();
  });

  await new Promise<void>((resolve, reject) => {
    const onMessage = (message: { type: string; error?: InvokeError }) => {
      if (message.type === "ready") {
        child.off("message", onMessage);
        resolve();
      } else if (message.type === "init-error") {
        reject(new Error(`${name} failed to initialise: ${message.error?.errorMessage}\n${output}`));
      }
    };
    child.on("message", onMessage);
    child.once("exit", (code) => reject(new Error(`${name} exited during init (${code}): ${output}`)));
  });

  child.on("message", (message: { type: string; id?: string; result?: unknown; error?: InvokeError }) => {
    const waiter = message.id ? pending.get(message.id) : undefined;
    if (!waiter || !message.id) return;
    pending.delete(message.id);
    if (message.type === "result") waiter.resolve(message.result);
    else {
      const error = new Error(`${name}: ${message.error?.errorType}: ${message.error?.errorMessage}`);
      Object.assign(error, { invokeError: message.error });
      waiter.reject(error);
    }
  });

  return {
    name,
    env,
    output: () => output,
    invoke<T>(event: unknown): Promise<T> {
      const id = randomUUID();
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${name}: Task timed out after ${timeoutMs / 1000} seconds`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as T);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        child.send({
          type: "invoke",
          id,
          requestId: randomUUID(),
          timeoutMs,
          functionArn: `arn:aws:lambda:${env.AWS_REGION}:000000000000:function:${env.AWS_LAMBDA_FUNCTION_NAME}`,
          event,
        });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}

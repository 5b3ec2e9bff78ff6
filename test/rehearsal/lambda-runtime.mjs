// A stand-in for the Lambda Node.js runtime, run as its own process with the deployed function's
// environment. Like the real runtime it loads `$LAMBDA_TASK_ROOT/<_HANDLER file>.mjs` once, then
// calls the named export for each event it is given (here over the IPC channel instead of the
// Runtime API), with a Lambda context, one event at a time.
//
// The one thing it changes in the process: host names under `.localhost` resolve to 127.0.0.1, as
// the AWS endpoints' names resolve inside Lambda (the local SQS server's queue URLs use such names).
import dns from "node:dns";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const lookup = dns.lookup;
dns.lookup = (hostname, options, callback) => {
  const done = typeof options === "function" ? options : callback;
  const settings = typeof options === "function" ? {} : typeof options === "number" ? { family: options } : options;
  if (typeof hostname === "string" && hostname.endsWith(".localhost")) {
    if (settings?.all) done(null, [{ address: "127.0.0.1", family: 4 }]);
    else done(null, "127.0.0.1", 4);
    return;
  }
  if (typeof options === "function") lookup(hostname, done);
  else lookup(hostname, options, done);
};

const taskRoot = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
const handlerSetting = process.env._HANDLER ?? "";
const dot = handlerSetting.lastIndexOf(".");
const modulePath = join(taskRoot, `${handlerSetting.slice(0, dot)}.mjs`);
const exportName = handlerSetting.slice(dot + 1);

function errorOf(error) {
  return error instanceof Error
    ? { errorType: error.name, errorMessage: error.message, stack: error.stack }
    : { errorType: "Error", errorMessage: String(error) };
}

let handler;
try {
  const loaded = await import(pathToFileURL(modulePath).href);
  handler = loaded[exportName];
  if (typeof handler !== "function") throw new Error(`${modulePath} has no export ${exportName}`);
  process.send({ type: "ready" });
} catch (error) {
  process.send({ type: "init-error", error: errorOf(error) });
  process.exit(1);
}

let queue = Promise.resolve();
process.on("message", (message) => {
  if (message?.type !== "invoke") return;
  queue = queue.then(async () => {
    const deadline = Date.now() + message.timeoutMs;
    const context = {
      awsRequestId: message.requestId,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      invokedFunctionArn: message.functionArn,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    try {
      const result = await handler(message.event, context);
      process.send({ type: "result", id: message.id, result: result === undefined ? null : result });
    } catch (error) {
      process.send({ type: "error", id: message.id, error: errorOf(error) });
    }
  });
});
process.on("disconnect", () => process.exit(0));

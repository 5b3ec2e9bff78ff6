/// <reference path="./.sst/platform/config.d.ts" />

export default $config({
  app(input) {
    return {
      name: "segment-ingest",
      home: "aws",
      removal: input?.stage === "production" ? "retain" : "remove",
      protect: ["production"].includes(input?.stage),
    };
  },
  async run() {
    const storage = await import("./infra/storage");
    const queue = await import("./infra/queue");
    const functions = await import("./infra/functions");
    const { httpApi } = await import("./infra/api");
    await import("./infra/alarms");
    const { consoleSite } = await import("./infra/console");
    return {
      apiUrl: httpApi.url,
      consoleUrl: consoleSite.url,
      webhookUrlTemplate: $interpolate`${httpApi.url}/v1/webhooks/segment/{workspaceId}`,
      entitiesTable: storage.entities.name,
      eventsTable: storage.events.name,
      rawQueueUrl: queue.rawQueue.url,
      deadLetterQueueUrl: queue.deadLetterQueue.url,
      normalizeFunction: functions.normalize.nodes.function.name,
    };
  },
});

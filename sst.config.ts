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
    return {
      entitiesTable: storage.entities.name,
      eventsTable: storage.events.name,
      rawQueue: queue.rawQueue.url,
      deadLetterQueue: queue.deadLetterQueue.url,
    };
  },
});

import { EntitiesTable, EventsTable, type TableDefinition } from "../packages/resources/src/definitions";

const isProduction = $app.stage === "production";

/** An SST Dynamo component from a shared table definition: same keys, indexes and TTL as local. */
function table(definition: TableDefinition) {
  const fields: Record<string, "string"> = { [definition.partitionKey]: "string", [definition.sortKey]: "string" };
  const globalIndexes: Record<string, { hashKey: string; rangeKey: string }> = {};
  for (const index of definition.globalIndexes) {
    fields[index.partitionKey] = "string";
    fields[index.sortKey] = "string";
    globalIndexes[index.name] = { hashKey: index.partitionKey, rangeKey: index.sortKey };
  }
  return new sst.aws.Dynamo(definition.name, {
    fields,
    primaryIndex: { hashKey: definition.partitionKey, rangeKey: definition.sortKey },
    globalIndexes,
    ttl: definition.ttlAttribute,
    deletionProtection: isProduction,
    transform: {
      table: (args) => {
        args.pointInTimeRecovery = { enabled: isProduction };
      },
    },
  });
}

export const entities = table(EntitiesTable);
export const events = table(EventsTable);

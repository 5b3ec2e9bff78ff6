import * as z from "zod/mini";
import { ConfigError } from "../../core/src/errors";
import { ConfigEnv } from "../../resources/src/environment";

export { ConfigEnv };

/**
 * Where the adapters find their tables and queues. On AWS the names come from SST's linked
 * resources; locally (stack, tests, CLI) from environment variables. Read once per process.
 */
export const Config = z.object({
  region: z.string().check(z.minLength(1)),
  entitiesTable: z.string().check(z.minLength(1)),
  eventsTable: z.string().check(z.minLength(1)),
  rawQueueUrl: z.url(),
  deadLetterQueueUrl: z.optional(z.url()),
  /** Set locally: DynamoDB Local's URL. Absent on AWS. */
  dynamoEndpoint: z.optional(z.url()),
  /** Set locally: fauxqs's URL. fauxqs queue URLs name a host that does not resolve, so it is required there. */
  sqsEndpoint: z.optional(z.url()),
  /** How long a Lambda may reuse a looked-up source's credentials. */
  credentialCacheSeconds: z._default(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(3600)), 30),
  /** How long pending calls wait for an entity map before they expire as rejects. */
  pendingRetentionDays: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(365)), 14),
  version: z._default(z.string(), "dev"),
});
export type Config = z.infer<typeof Config>;

type Env = Record<string, string | undefined>;

/** Every configuration field has its environment variable (names shared with infra/). */
const _everyFieldNamed: Record<keyof Config, string> = ConfigEnv;

/** Linked SST resources as `sst/resource` exposes them (only the fields read here). */
export interface LinkedResources {
  Entities: { name: string };
  Events: { name: string };
  RawQueue: { url: string };
  RawDlq?: { url: string };
}

/**
 * Parses configuration, reporting every problem in one error.
 *
 * @example
 * const config = parseConfig(process.env);
 */
export function parseConfig(env: Env, linked?: LinkedResources): Config {
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ConfigEnv)) {
    const value = env[name];
    if (value !== undefined && value !== "") raw[key] = value;
  }
  raw.region ??= env.AWS_DEFAULT_REGION ?? "us-east-1";
  if (linked) {
    raw.entitiesTable = linked.Entities.name;
    raw.eventsTable = linked.Events.name;
    raw.rawQueueUrl = linked.RawQueue.url;
    if (linked.RawDlq) raw.deadLetterQueueUrl = linked.RawDlq.url;
  }
  const parsed = Config.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const key = String(i.path[0] ?? "");
      const name = ConfigEnv[key as keyof typeof ConfigEnv] ?? key;
      return `${name}: ${i.message}`;
    });
    throw new ConfigError("config.invalid", `Invalid configuration: ${problems.join("; ")}`, {
      details: { problems },
    });
  }
  return parsed.data;
}

let cached: Config | undefined;

/**
 * The process's configuration, parsed on first use. On AWS (SST sets `SST_RESOURCE_App`) the
 * table and queue names come from linked resources; elsewhere from environment variables.
 */
export async function loadConfig(): Promise<Config> {
  if (cached) return cached;
  let linked: LinkedResources | undefined;
  if (process.env.SST_RESOURCE_App) {
    const { Resource } = await import("sst/resource");
    linked = Resource as unknown as LinkedResources;
  }
  cached = parseConfig(process.env, linked);
  return cached;
}

/** Forgets the cached configuration (tests and the local stack switch environments). */
export function resetConfig(): void {
  cached = undefined;
}

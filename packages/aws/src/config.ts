import * as z from "zod/mini";
import { ConfigError } from "../../core/src/errors";
import { ConfigEnv } from "../../resources/src/environment";

export { ConfigEnv };

/**
 * Where the adapters find their tables and queues. Configuration reaches the code one way only:
 * environment variables (names in packages/resources/src/environment.ts). On AWS, infra/functions.ts
 * sets them on every function from the deployed resources; locally the stack, the tests and the CLI
 * set the same variables. SST's `Resource` links are not used: a function that read a link infra
 * forgot would fail on its first call, and the local stack could never exercise that path
 * (docs/deploy.md, "How configuration reaches the functions"). Read once per process.
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

/**
 * Parses configuration, reporting every problem in one error.
 *
 * @example
 * const config = parseConfig(process.env);
 */
export function parseConfig(env: Env): Config {
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ConfigEnv)) {
    const value = env[name];
    if (value !== undefined && value !== "") raw[key] = value;
  }
  raw.region ??= env.AWS_DEFAULT_REGION ?? "us-east-1";
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
 * The process's configuration, parsed from the environment on first use, the same way on AWS, in
 * the local stack, in tests and in the CLI.
 *
 * @example
 * const config = await loadConfig();
 */
export async function loadConfig(): Promise<Config> {
  cached ??= parseConfig(process.env);
  return cached;
}

/** Forgets the cached configuration (tests and the local stack switch environments). */
export function resetConfig(): void {
  cached = undefined;
}

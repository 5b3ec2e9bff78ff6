/**
 * The User (spec 3, user table), defined once: its zod schema (the API's answer and the OpenAPI
 * component), the TypeScript type inferred from it, and the table of Segment traits each field is
 * read from.
 */
import { z } from "zod";
import { NullableTime, Value } from "./field";

export { USER_FIELDS, type UserFieldName } from "./user-fields";

export const User = z
  .object({
    workspace_id: z.string(),
    user_id: z.string(),
    first_name: z.string().nullable(),
    last_name: z.string().nullable(),
    email: z.string().nullable(),
    created_at: NullableTime.describe("The user's signup date"),
    name: z.string().nullable(),
    avatar: z.string().nullable(),
    title: z.string().nullable(),
    username: z.string().nullable(),
    description: z.string().nullable(),
    key_user: z.boolean().nullable(),
    linkedin_url: z.string().nullable(),
    is_active: z.boolean().nullable(),
    status: z.enum(["active", "inactive"]),
    traits: z.record(z.string(), Value).describe("Custom traits"),
    missing_required: z.array(z.string()),
    missing_recommended: z.array(z.string()),
    last_seen_at: NullableTime.describe("Time of the user's newest event"),
  })
  .describe("A user (from `identify` calls)");
export type User = z.infer<typeof User>;

/** A user as their stored fields give them; `last_seen_at` comes from their events. */
export type UserProfile = Omit<User, "last_seen_at">;

/**
 * The User (spec 3, user table), defined once: its zod schema (the API's answer and the OpenAPI
 * component), the TypeScript type inferred from it, and the table of Segment traits each field is
 * read from.
 */
import { z } from "zod";
import { type KnownField, NullableTime, Value } from "./field";

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

/** The user fields read from `identify` traits, and the trait names each is read from. */
export const USER_FIELDS = [
  { name: "first_name", type: "string", from: ["first_name", "firstName"] },
  { name: "last_name", type: "string", from: ["last_name", "lastName"] },
  { name: "email", type: "string", from: ["email"] },
  { name: "created_at", type: "time", from: ["created_at", "createdAt"] },
  { name: "name", type: "string", from: ["name"] },
  { name: "avatar", type: "string", from: ["avatar"] },
  { name: "title", type: "string", from: ["title"] },
  { name: "username", type: "string", from: ["username"] },
  { name: "description", type: "string", from: ["description"] },
  { name: "key_user", type: "boolean", from: ["key_user", "keyUser"] },
  { name: "linkedin_url", type: "string", from: ["linkedin_url", "linkedinUrl", "linkedin"] },
  { name: "is_active", type: "boolean", from: ["is_active", "isActive"] },
] as const satisfies readonly KnownField<keyof User & string>[];

/** Canonical user field names. */
export type UserFieldName = (typeof USER_FIELDS)[number]["name"];

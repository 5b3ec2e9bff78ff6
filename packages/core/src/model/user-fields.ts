/**
 * The user's known fields (which Segment traits fill each), as plain data beside the User schema
 * (`user.ts`): the write path reads them without loading zod.
 */
import type { KnownField } from "./known-field";
import type { User } from "./user";

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

import { createNormalizeHandler } from "../packages/aws/src/handlers/normalize";

/** SQS subscriber of the raw queue: Segment calls into accounts, users, memberships and events. */
export const handler = createNormalizeHandler();

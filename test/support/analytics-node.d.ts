/**
 * The part of classic `analytics-node` (6.x, which ships no types) that the sender tests use.
 */
declare module "analytics-node" {
  interface Message {
    userId?: string;
    anonymousId?: string;
    [field: string]: unknown;
  }
  export default class Analytics {
    constructor(writeKey: string, options?: { host?: string; path?: string; flushAt?: number; flushInterval?: number });
    identify(message: Message): this;
    group(message: Message & { groupId: string }): this;
    track(message: Message & { event: string }): this;
    page(message: Message): this;
    flush(callback?: (error?: Error) => void): Promise<unknown>;
  }
}

/**
 * An HTTP request as the product's handlers see it, whatever carried it (API Gateway, the local
 * stack's HTTP server, a test). Header names are lowercase; the body is the raw bytes.
 */
export interface HttpRequest {
  method: string;
  path: string;
  headers: Readonly<Record<string, string | undefined>>;
  body: Uint8Array;
  /** The id of this request (API Gateway's request id), carried into logs and queued messages. */
  requestId: string;
  receivedAt: Date;
}

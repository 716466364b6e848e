import type { IncomingHttpHeaders } from "node:http";
import type { Socket } from "node:net";

/**
 * What the router reads of a client's request. node:http's IncomingMessage is one; the fast
 * path's FastRequest (fast/request.ts) is the other, for plain bodiless GET and HEAD requests.
 */
export interface InboundRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly socket: Socket;
  readonly readableEnded: boolean;
  isPaused(): boolean;
  pause(): void;
  resume(): void;
  on(event: "data", listener: (chunk: Buffer) => void): void;
  on(event: "end", listener: () => void): void;
}

/** What the router does with its answer: node:http's ServerResponse, or the fast path's FastResponse. */
export interface OutboundResponse {
  statusCode: number;
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  shouldKeepAlive: boolean;
  sendDate: boolean;
  writeHead(status: number, reason: string, headers: string[]): void;
  writeHead(status: number, headers: Record<string, string | number>): void;
  write(chunk: Buffer | string): boolean;
  end(chunk?: Buffer | string): void;
  flushHeaders(): void;
  destroy(): void;
  on(event: "close", listener: () => void): void;
  once(event: "close" | "finish" | "drain", listener: () => void): void;
}

/**
 * JSON over HTTP on a unix socket: what the router's admin API and the server's API both speak.
 * One implementation of the framing, body limits and error shape for both.
 */
import { chmodSync, existsSync, unlinkSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { Server as NetServer } from "node:net";
import { type Endpoint, openRequest } from "./endpoint.js";
import { BatonError, errorFromJSON } from "./errors.js";

const MAX_BODY_BYTES = 1024 * 1024;

export function replyJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body ?? null);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/** Answer with the error's catalog status and its JSON form. */
export function replyError(res: ServerResponse, error: unknown): void {
  const baton =
    error instanceof BatonError ? error : new BatonError("BATON_USAGE", String((error as Error)?.message ?? error));
  if (res.headersSent) {
    res.destroy();
    return;
  }
  replyJson(res, baton.status, { error: baton.toJSON() });
}

export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BatonError("BATON_USAGE", "request body too large");
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not an object");
    return value as Record<string, unknown>;
  } catch (error) {
    throw new BatonError("BATON_USAGE", "request body must be a JSON object", { cause: error });
  }
}

/** Listen on a unix socket only its owner can use (mode 0600). */
export function listenUnix(server: Server, socketPath: string): Promise<void> {
  // A socket file left by a killed process would make listen() fail with EADDRINUSE.
  if (existsSync(socketPath)) unlinkSync(socketPath);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      chmodSync(socketPath, 0o600);
      resolve();
    });
  });
}

/** Stop listening and cut every open connection (API clients reconnect or fail fast). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** The BatonError in an error answer's JSON body, or a generic one when the body is not JSON. */
export function errorFromBody(body: Buffer, fallbackMessage: string): BatonError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    parsed = undefined;
  }
  return errorFromJSON((parsed as { error?: unknown } | undefined)?.error, fallbackMessage);
}

export interface JsonCall {
  endpoint: Endpoint;
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs: number;
  /** The error to throw when nothing answers on the socket. */
  unreachable: (cause: Error) => BatonError;
}

/** One request; resolves with the parsed JSON, rejects with the BatonError the peer sent. */
export function callJson<T>(call: JsonCall): Promise<T> {
  const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
  return new Promise<T>((resolve, reject) => {
    const req = openRequest(
      call.endpoint,
      {
        method: call.method,
        path: call.path,
        headers: {
          ...call.headers,
          ...(payload === undefined
            ? {}
            : { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(payload)) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          } catch (error) {
            reject(
              call.unreachable(
                new Error(`invalid JSON in the answer to ${call.method} ${call.path}`, { cause: error }),
              ),
            );
            return;
          }
          if ((res.statusCode ?? 500) >= 400) {
            reject(errorFromJSON((parsed as { error?: unknown }).error, `${call.method} ${call.path} was refused`));
          } else resolve(parsed as T);
        });
      },
    );
    req.setTimeout(call.timeoutMs, () => req.destroy(new Error(`no answer within ${call.timeoutMs} ms`)));
    req.on("error", (error) => reject(call.unreachable(error)));
    req.end(payload);
  });
}

/**
 * Stop accepting connections and keep the open ones. net.Server's close, not http.Server's: the
 * latter also cuts idle keep-alive connections at once, racing clients about to reuse them (and
 * a unix listener's socket file is removed either way: libuv unlinks it on close).
 */
export function stopAccepting(server: NetServer): void {
  NetServer.prototype.close.call(server);
}

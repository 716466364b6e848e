import { EventEmitter } from "node:events";
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { OutboundResponse } from "../client-message.js";

/** What a response tells the connection it belongs to. */
export interface ResponseOwner {
  readonly socket: Socket;
  /** Seconds announced in Keep-Alive: timeout=N. */
  readonly keepAliveTimeoutS: number;
  /** The last byte of `response` is queued; `keepAlive` says whether the connection carries on. */
  responseDone(response: FastResponse, keepAlive: boolean): void;
}

const LAST_CHUNK = "0\r\n\r\n";
const EMPTY = Buffer.alloc(0);
/** Pieces of a write up to this size are copied into one buffer; bigger ones are not worth the copy. */
const COPY_LIMIT_BYTES = 16 * 1024;
let dateSecond = -1;
let dateText = "";

/** The Date header's value, rebuilt once a second as node:http does. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

/**
 * The fast path's answer to a FastRequest, written straight to the client socket: the head is
 * built once as a string and goes out with the first body bytes in one write. It frames the body
 * as node:http's ServerResponse would: as given when a Content-Length is set, chunked otherwise,
 * nothing for HEAD, 204 and 304. It emits "finish" once the last byte is handed to the socket,
 * "drain" when a full socket empties, and "close" once, after "finish" or when the client went away.
 */
export class FastResponse extends EventEmitter implements OutboundResponse {
  statusCode = 200;
  sendDate = true;
  /** Set before the head is written to close the connection after this response. */
  shouldKeepAlive: boolean;
  private head: string | undefined;
  private headWritten = false;
  private chunked = false;
  private noBody = false;
  private finished = false;
  private closed = false;

  constructor(
    private readonly owner: ResponseOwner,
    private readonly isHead: boolean,
    keepAlive: boolean,
  ) {
    super();
    this.shouldKeepAlive = keepAlive;
  }

  get headersSent(): boolean {
    return this.head !== undefined;
  }

  get destroyed(): boolean {
    return this.owner.socket.destroyed;
  }

  writeHead(status: number, reason: string, headers: string[]): void;
  writeHead(status: number, headers: Record<string, string | number>): void;
  writeHead(status: number, reasonOrHeaders: string | Record<string, string | number>, list?: string[]): void {
    if (this.head !== undefined) throw new Error("writeHead called twice");
    this.statusCode = status;
    const reason = typeof reasonOrHeaders === "string" ? reasonOrHeaders : (STATUS_CODES[status] ?? "unknown");
    let head = `HTTP/1.1 ${status} ${reason}\r\n`;
    let hasLength = false;
    let hasDate = false;
    let transferEncoding: string | undefined;
    // The router's own pages pass an object (rare); proxied responses a flat list, read in place.
    const flat = typeof reasonOrHeaders === "string" ? (list ?? []) : flatten(reasonOrHeaders);
    for (let i = 0; i < flat.length; i += 2) {
      const name = flat[i] as string;
      const value = flat[i + 1] as string;
      const n = name.length;
      if (n === 14 && name.toLowerCase() === "content-length") hasLength = true;
      else if (n === 4 && name.toLowerCase() === "date") hasDate = true;
      else if (n === 17 && name.toLowerCase() === "transfer-encoding") transferEncoding = value;
      else if (n === 10 && name.toLowerCase() === "connection") continue; // this connection's own, below
      head += `${name}: ${value}\r\n`;
    }
    this.noBody = this.isHead || status === 204 || status === 304 || status < 200;
    if (transferEncoding !== undefined) {
      this.chunked = /(?:^|,)[ \t]*chunked[ \t]*$/i.test(transferEncoding);
      // A framing other than chunked ends only when the connection does.
      if (!this.chunked) this.shouldKeepAlive = false;
    } else if (!hasLength && !this.noBody) {
      this.chunked = true;
      head += "Transfer-Encoding: chunked\r\n";
    }
    if (this.sendDate && !hasDate) head += `Date: ${httpDate()}\r\n`;
    head += this.shouldKeepAlive
      ? `Connection: keep-alive\r\nKeep-Alive: timeout=${this.owner.keepAliveTimeoutS}\r\n\r\n`
      : "Connection: close\r\n\r\n";
    this.head = head;
  }

  flushHeaders(): void {
    if (this.head === undefined) this.implicitHead();
    if (!this.headWritten) this.send([]);
  }

  write(chunk: Buffer | string): boolean {
    if (this.finished) return false;
    if (this.head === undefined) this.implicitHead();
    if (this.noBody || chunk.length === 0) return this.headWritten ? true : this.send([]);
    return this.send(this.frame(chunk));
  }

  end(chunk?: Buffer | string): void {
    if (this.finished) return;
    if (this.head === undefined) this.implicitHead(chunk);
    const pieces = chunk !== undefined && chunk.length > 0 && !this.noBody ? this.frame(chunk) : [];
    if (this.chunked && !this.noBody) pieces.push(LAST_CHUNK);
    this.finished = true;
    const socket = this.owner.socket;
    if (pieces.length > 0 || !this.headWritten) this.send(pieces, this.onFinish);
    // Nothing left to write: no empty write (a system call) just to learn that it is all out.
    else if (socket.writableLength === 0) process.nextTick(this.onFinish);
    else socket.write(EMPTY, this.onFinish);
    this.owner.responseDone(this, this.shouldKeepAlive);
  }

  destroy(): void {
    this.owner.socket.destroy();
  }

  /** The client's connection closed: a response not finished by then never will be. */
  socketClosed(): void {
    this.emitClose();
  }

  /** The socket emptied its buffer: whoever paused for this response may go on. */
  socketDrained(): void {
    this.emit("drain");
  }

  private readonly onFinish = (error?: Error | null): void => {
    if (error) return; // the socket's "close" reports it
    this.emit("finish");
    this.emitClose();
  };

  private emitClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit("close");
  }

  /** A write or end() without writeHead(): the head as it stands, with a length when end() has it all. */
  private implicitHead(whole?: Buffer | string): void {
    const headers: Record<string, string | number> = {};
    if (whole !== undefined) headers["Content-Length"] = Buffer.byteLength(whole);
    this.writeHead(this.statusCode, headers);
  }

  /** A body chunk as it goes on the wire: as it is, or as one chunk of a chunked body. */
  private frame(chunk: Buffer | string): Array<Buffer | string> {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    return this.chunked ? [`${bytes.length.toString(16)}\r\n`, bytes, "\r\n"] : [bytes];
  }

  /**
   * Write `pieces` (strings are ASCII or the latin1 head), with the head in front the first
   * time, as one write: small pieces are copied into one buffer (one system call, and none of
   * the stream's corking and writev bookkeeping), large ones go out corked.
   */
  private send(pieces: Array<Buffer | string>, done?: (error?: Error | null) => void): boolean {
    const socket = this.owner.socket;
    if (!this.headWritten) {
      this.headWritten = true;
      pieces.unshift(this.head as string);
    }
    if (socket.destroyed) return false;
    if (pieces.length === 1) {
      const only = pieces[0] as Buffer | string;
      return typeof only === "string" ? socket.write(only, "latin1", done) : socket.write(only, done);
    }
    let total = 0;
    for (const piece of pieces) total += piece.length; // latin1: one byte per character
    if (total <= COPY_LIMIT_BYTES) {
      const out = Buffer.allocUnsafe(total);
      let at = 0;
      for (const piece of pieces) {
        if (typeof piece === "string") at += out.write(piece, at, "latin1");
        else at += piece.copy(out, at);
      }
      return socket.write(out, done);
    }
    socket.cork();
    let flowing = true;
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i] as Buffer | string;
      const last = i === pieces.length - 1 ? done : undefined;
      flowing = typeof piece === "string" ? socket.write(piece, "latin1", last) : socket.write(piece, last);
    }
    socket.uncork();
    return flowing;
  }
}

function flatten(headers: Record<string, string | number>): string[] {
  const flat: string[] = [];
  for (const name of Object.keys(headers)) flat.push(name, String(headers[name]));
  return flat;
}

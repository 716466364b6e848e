/**
 * Follows WebSocket frame boundaries (RFC 6455 5.2) in one direction of a proxied connection
 * without copying payloads, so the router can slip its own close frame in between two frames.
 */
export class FrameCursor {
  /** Header bytes collected for the frame being read (at most 14). */
  private readonly header = Buffer.alloc(14);
  private headerHave = 0;
  private headerNeed = 2;
  private payloadLeft = 0;

  /** True when the bytes seen so far end exactly at a frame boundary. */
  get atBoundary(): boolean {
    return this.headerHave === 0 && this.payloadLeft === 0;
  }

  /**
   * Consume `chunk`; return the offset just after the first frame end inside it at or after the
   * start, or -1 when no frame ends inside this chunk. With `stopAtFirstEnd` false, the whole chunk
   * is consumed and the return value is -1 or the chunk length.
   */
  advance(chunk: Buffer, stopAtFirstEnd: boolean): number {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, n - i);
        this.payloadLeft -= take;
        i += take;
        if (this.payloadLeft === 0 && stopAtFirstEnd) return i;
        continue;
      }
      this.header[this.headerHave++] = chunk[i++] as number;
      if (this.headerHave === 2) {
        const second = this.header[1] as number;
        const len7 = second & 0x7f;
        const masked = (second & 0x80) !== 0;
        this.headerNeed = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
      }
      if (this.headerHave >= 2 && this.headerHave === this.headerNeed) {
        this.payloadLeft = this.payloadLength();
        this.headerHave = 0;
        this.headerNeed = 2;
        if (this.payloadLeft === 0 && stopAtFirstEnd) return i;
      }
    }
    return this.atBoundary ? n : -1;
  }

  private payloadLength(): number {
    const len7 = (this.header[1] as number) & 0x7f;
    if (len7 < 126) return len7;
    if (len7 === 126) return this.header.readUInt16BE(2);
    return Number(this.header.readBigUInt64BE(2));
  }
}

/** A close frame from the server side (unmasked) with a status code and a short reason. */
export function serverCloseFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, "utf8").subarray(0, 123);
  const frame = Buffer.alloc(4 + text.length);
  frame[0] = 0x88; // FIN + opcode 8 (close)
  frame[1] = 2 + text.length;
  frame.writeUInt16BE(code, 2);
  text.copy(frame, 4);
  return frame;
}

/** 1001: the endpoint is going away (RFC 6455 7.4.1), which clients treat as "reconnect". */
export const CLOSE_GOING_AWAY = 1001;

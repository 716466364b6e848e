/**
 * Positions in a SQL source. libpg-query reports statement and node locations as UTF-8 byte
 * offsets and syntax-error cursors as character (code point) offsets, while JavaScript strings
 * index UTF-16 code units; this class converts all three to 1-based line and column, the column
 * counted in characters as PostgreSQL and most editors count them.
 */
export interface Position {
  line: number;
  column: number;
}

export class SourceText {
  readonly text: string;
  readonly #lineStarts: number[] = [0];
  // Built on first use: files without multi-byte characters never need them.
  #byteToIndex: Uint32Array | undefined;
  #charToIndex: Uint32Array | undefined;

  constructor(text: string) {
    this.text = text;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.#lineStarts.push(i + 1);
  }

  /** The string index of a UTF-8 byte offset (as in stmt_location and node locations). */
  indexOfByte(byte: number): number {
    this.#byteToIndex ??= this.#buildOffsets().bytes;
    return this.#byteToIndex[Math.max(0, Math.min(byte, this.#byteToIndex.length - 1))] ?? this.text.length;
  }

  /** The string index of a code point offset (as in a syntax error's cursor position). */
  indexOfChar(char: number): number {
    this.#charToIndex ??= this.#buildOffsets().chars;
    return this.#charToIndex[Math.max(0, Math.min(char, this.#charToIndex.length - 1))] ?? this.text.length;
  }

  position(index: number): Position {
    const starts = this.#lineStarts;
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((starts[mid] as number) <= index) low = mid;
      else high = mid - 1;
    }
    const lineStart = starts[low] as number;
    return { line: low + 1, column: countCodePoints(this.text, lineStart, index) + 1 };
  }

  /** The text of a 1-based line, without its line break. */
  line(line: number): string {
    const start = this.#lineStarts[line - 1];
    if (start === undefined) return "";
    const next = this.#lineStarts[line];
    return this.text.slice(start, next === undefined ? this.text.length : next - 1).replace(/\r$/, "");
  }

  #buildOffsets(): { bytes: Uint32Array; chars: Uint32Array } {
    const bytes = new Uint32Array(Buffer.byteLength(this.text, "utf8") + 1);
    const chars: number[] = [];
    let byte = 0;
    let index = 0;
    for (const char of this.text) {
      const code = char.codePointAt(0) as number;
      const width = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
      for (let b = 0; b < width; b++) bytes[byte + b] = index;
      chars.push(index);
      byte += width;
      index += char.length;
    }
    bytes[byte] = index;
    chars.push(index);
    this.#byteToIndex = bytes;
    this.#charToIndex = Uint32Array.from(chars);
    return { bytes, chars: this.#charToIndex };
  }
}

function countCodePoints(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = from; i < to; i++) {
    const code = text.charCodeAt(i);
    // A high surrogate followed by its low surrogate is one character.
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < to) i++;
    count++;
  }
  return count;
}

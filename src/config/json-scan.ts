import { lineColumnAt } from "./problems.js";

export interface Position {
  line: number;
  column: number;
}

export interface JsonScan {
  /** Where each object key (and array item) starts, by path (`baton.warmup.count`, `healthchecks.web[0].path`). */
  keys: Map<string, Position>;
  /** The first syntax error, when the text is not valid JSON. */
  error?: Position & { message: string };
}

class ScanError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A small strict JSON walker. JSON.parse builds the value; this finds positions, which Node 20's
 * JSON.parse does not always report (e.g. "Unexpected token 'x'" carries no position).
 */
export function scanJson(text: string): JsonScan {
  const keys = new Map<string, Position>();
  let i = 0;
  const ws = (): void => {
    while (i < text.length && " \t\n\r".includes(text[i] as string)) i++;
  };
  const fail = (message: string): never => {
    throw new ScanError(i, message);
  };
  const describe = (): string => (i >= text.length ? "end of input" : JSON.stringify(text[i]));
  const string = (): string => {
    const start = i;
    i++;
    while (i < text.length) {
      const c = text[i] as string;
      if (c === '"') {
        i++;
        return JSON.parse(text.slice(start, i)) as string;
      }
      if (c === "\\") {
        const next = text[i + 1];
        if (next === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail("bad \\u escape in string");
          i += 6;
        } else if (next !== undefined && '"\\/bfnrt'.includes(next)) i += 2;
        else fail("bad escape in string");
      } else if (c < " ") fail("control character in string (use \\n, \\t)");
      else i++;
    }
    i = start;
    return fail("string is not closed");
  };
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`expected a double-quoted key, got ${describe()}`);
        const keyStart = i;
        const key = string();
        const keyPath = path === "" ? key : `${path}.${key}`;
        if (!keys.has(keyPath)) keys.set(keyPath, lineColumnAt(text, keyStart));
        ws();
        if (text[i] !== ":") fail(`expected ":" after key "${key}", got ${describe()}`);
        i++;
        value(keyPath);
        ws();
        if (text[i] === ",") {
          i++;
          ws();
          if (text[i] === "}") fail('trailing comma before "}"');
          continue;
        }
        if (text[i] === "}") {
          i++;
          return;
        }
        fail(`expected "," or "}", got ${describe()}`);
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        ws();
        const itemPath = `${path}[${n}]`;
        if (!keys.has(itemPath)) keys.set(itemPath, lineColumnAt(text, i));
        value(itemPath);
        ws();
        if (text[i] === ",") {
          i++;
          ws();
          if (text[i] === "]") fail('trailing comma before "]"');
          continue;
        }
        if (text[i] === "]") {
          i++;
          return;
        }
        fail(`expected "," or "]", got ${describe()}`);
      }
    }
    if (c === '"') {
      string();
      return;
    }
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (literal) {
      i += literal[0].length;
      return;
    }
    fail(`unexpected ${describe()}`);
  };
  try {
    value("");
    ws();
    if (i < text.length) fail(`unexpected ${describe()} after the end of the JSON value`);
    return { keys };
  } catch (error) {
    if (!(error instanceof ScanError)) throw error;
    return { keys, error: { ...lineColumnAt(text, error.offset), message: error.message } };
  }
}

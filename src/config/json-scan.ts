export interface Position {
  line: number;
  column: number;
}

export interface JsonScan {
  /** Where each object key (and array item) starts, by path (`baton.warmup.count`, `healthchecks.web[0].path`). */
  keys: Map<string, Position>;
  /** Keys repeated within one object (JSON.parse keeps only the last), where each repeat starts. */
  duplicates: Array<{ path: string; at: Position; first: Position }>;
  /** The first syntax error, when the text is not valid JSON. */
  error?: Position & { message: string };
}

/** Deeper than any real app.json; the walker recurses, so an absurd depth must stop it first. */
export const MAX_JSON_DEPTH = 256;

/**
 * Line and column of an offset from a table of line starts (binary search): recounting from the
 * start of the text for every key made a large document quadratic.
 */
function positions(text: string): (offset: number) => Position {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return (offset) => {
    const at = Math.min(offset, text.length);
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((starts[mid] as number) <= at) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: at - (starts[low] as number) + 1 };
  };
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
  const duplicates: JsonScan["duplicates"] = [];
  const positionAt = positions(text);
  let i = 0;
  let depth = 0;
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
    if ((c === "{" || c === "[") && depth >= MAX_JSON_DEPTH) fail(`nested more than ${MAX_JSON_DEPTH} levels deep`);
    depth++;
    try {
      container(c, path);
    } finally {
      depth--;
    }
  };
  const container = (c: string | undefined, path: string): void => {
    if (c === "{") {
      const inThisObject = new Map<string, Position>();
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
        const at = positionAt(keyStart);
        const first = inThisObject.get(key);
        if (first === undefined) inThisObject.set(key, at);
        else duplicates.push({ path: keyPath, at, first });
        if (!keys.has(keyPath)) keys.set(keyPath, at);
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
        if (!keys.has(itemPath)) keys.set(itemPath, positionAt(i));
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
    return { keys, duplicates };
  } catch (error) {
    if (!(error instanceof ScanError)) throw error;
    return { keys, duplicates, error: { ...positionAt(error.offset), message: error.message } };
  }
}

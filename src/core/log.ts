import { pino } from "pino";

/**
 * Structured logging through pino: one JSON object per line (`time`, `level`, `name`, `msg` and the
 * fields) when the stream is not a terminal, a short readable line on a terminal. Levels below the
 * configured one cost a comparison only (pino's disabled methods are no-ops).
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** `BATON_LOG_LEVEL` when it names a level, else `fallback`. */
export function levelFromEnv(fallback: LogLevel = "info"): LogLevel {
  const value = process.env.BATON_LOG_LEVEL;
  return LEVELS.includes(value as LogLevel) ? (value as LogLevel) : fallback;
}

/** The pino options every baton log shares, so router access logs and server logs read alike. */
export const PINO_OPTIONS = {
  timestamp: pino.stdTimeFunctions.isoTime,
  base: undefined,
  formatters: { level: (label: string) => ({ level: label }) },
} as const;

export function createLogger(
  name: string,
  level: LogLevel = levelFromEnv(),
  stream: NodeJS.WritableStream = process.stderr,
): Logger {
  const pretty = (stream as { isTTY?: boolean }).isTTY === true;
  const logger = pino(
    { ...PINO_OPTIONS, name, level: LEVELS.includes(level) ? level : "info" },
    pretty ? prettyDestination(stream) : stream,
  );
  const method =
    (lvl: "debug" | "info" | "warn" | "error") =>
    (msg: string, fields?: Record<string, unknown>): void => {
      if (fields === undefined) logger[lvl](msg);
      else logger[lvl](fields, msg);
    };
  return { debug: method("debug"), info: method("info"), warn: method("warn"), error: method("error") };
}

/**
 * What a person reads on a terminal: `12:00:01.123 info  server: msg {"fields":...}`. A small
 * printer of our own rather than pino-pretty, which would bring a transport worker thread along.
 */
export function prettyDestination(stream: NodeJS.WritableStream): { write(line: string): boolean } {
  return {
    write(line: string): boolean {
      return stream.write(prettyLine(line));
    },
  };
}

export function prettyLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { time, level, name, msg, ...fields } = record;
  const clock = typeof time === "string" ? time.slice(11, 23) : "";
  const extra = Object.keys(fields).length === 0 ? "" : ` ${JSON.stringify(fields)}`;
  return `${clock} ${String(level).padEnd(5)} ${String(name)}: ${String(msg)}${extra}\n`;
}

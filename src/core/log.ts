/**
 * Minimal structured logging: one JSON object per line on stderr when not a terminal, a short
 * readable line on a terminal. Levels below the configured one cost a comparison only.
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(
  name: string,
  level: LogLevel = (process.env.BATON_LOG_LEVEL as LogLevel | undefined) ?? "info",
  stream: NodeJS.WritableStream = process.stderr,
): Logger {
  const threshold = LEVELS[level] ?? LEVELS.info;
  const pretty = (stream as { isTTY?: boolean }).isTTY === true;
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (LEVELS[lvl] < threshold) return;
    if (pretty) {
      const extra = fields === undefined ? "" : ` ${JSON.stringify(fields)}`;
      stream.write(`${new Date().toISOString().slice(11, 23)} ${lvl.padEnd(5)} ${name}: ${msg}${extra}\n`);
    } else {
      stream.write(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, name, msg, ...fields })}\n`);
    }
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

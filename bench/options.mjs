// Command-line options of the benchmarks: parsed once, `--help` prints the usage, integers are
// checked against their bounds (every benchmark is bounded in time and requests).
import { parseArgs } from "node:util";

/**
 * @param {{ usage: string, options: import("node:util").ParseArgsConfig["options"], fail: (message: string) => never }} spec
 */
export function readOptions({ usage, options, fail }) {
  const { values } = parseArgs({ options: { ...options, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  /** The integer option `name`, within [min, max]. */
  const int = (name, min, max) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min || n > max)
      fail(`--${name} must be an integer from ${min} to ${max}\n${usage}`);
    return n;
  };
  return { values, int };
}

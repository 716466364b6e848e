import { type ParseArgsConfig, parseArgs } from "node:util";
import { BatonError } from "../core/errors.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** parseArgs with baton's error code, so a typo gets a clear message and exit code 2. */
export function parse<T extends Options>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    throw new BatonError("BATON_USAGE", (error as Error).message, { hint: "run `baton help` for usage" });
  }
}

export function intOption(value: string | undefined, name: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  // Digits only: Number() would also read "", " 7", "0x10" and "1e3" as numbers.
  const n = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min)
    throw new BatonError(
      "BATON_USAGE",
      `--${name} must be a whole number${min > 0 ? ` of at least ${min}` : ""} (got "${value}")`,
    );
  return n;
}

/** A repeatable option whose values may also be comma-separated: `--x a --x b,c` → [a, b, c]. */
export function listOption(values: string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "");
}

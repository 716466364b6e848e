import { BatonError } from "../core/errors.js";

/** The names the API accepts for config vars (server-api.ts CONFIG_KEY), checked here for a precise message. */
const CONFIG_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `KEY=VALUE` arguments of `baton config:set` as an object; the last value of a repeated key wins.
 * Built with Object.fromEntries so a key such as "__proto__" stays an own property (an assignment
 * would set the object's prototype and the var would silently vanish).
 */
export function parseConfigPairs(pairs: readonly string[]): Record<string, string> {
  const set = new Map<string, string>();
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new BatonError("BATON_USAGE", `${JSON.stringify(pair)} is not KEY=VALUE`);
    const key = pair.slice(0, eq);
    if (!CONFIG_KEY.test(key))
      throw new BatonError(
        "BATON_USAGE",
        `${JSON.stringify(pair)}: a config var name is letters, digits and _ and does not start with a digit`,
      );
    const value = pair.slice(eq + 1);
    // Environment values cannot hold NUL: the instance's spawn would fail.
    if (value.includes("\0"))
      throw new BatonError("BATON_USAGE", `${JSON.stringify(pair)}: the value contains a NUL character`);
    set.delete(key);
    set.set(key, value);
  }
  return Object.fromEntries(set);
}

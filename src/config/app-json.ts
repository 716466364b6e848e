import { scanJson } from "./json-scan.js";
import { type ConfigProblem, lineOfKey, nearestKey } from "./problems.js";
import { PROCESS_NAME } from "./procfile.js";

/** A Dokku app.json health check (https://dokku.com/docs/deployment/zero-downtime-deploys/). */
export interface HealthcheckUser {
  type: "startup" | "liveness" | "readiness";
  name?: string;
  path?: string;
  attempts?: number;
  /** Seconds between attempts. */
  wait?: number;
  /** Seconds per attempt. */
  timeout?: number;
  /** Seconds before the first attempt. */
  initialDelay?: number;
  /** Text the response body must contain. */
  content?: string;
  port?: number;
}

/** A Heroku app.json env entry in its object form. */
export interface EnvVarUser {
  value?: string;
  required?: boolean;
  description?: string;
  generator?: string;
}

export type DeployStrategy = "preboot" | "rolling" | "canary";
/** How new instances take the CPU while they warm up: only what the live path leaves, or as any process. */
export type WarmupCpu = "idle" | "normal";

/** The `baton` section: what Heroku's and Dokku's app.json have no key for. */
export interface BatonUserConfig {
  /** Build command; defaults from package.json. */
  build?: string;
  /** Reuse an earlier Release's node_modules when its install inputs are the same (default true). */
  buildCache?: boolean;
  strategy?: DeployStrategy;
  /** `paths` items: "/path", "POST /path", or { method, path, body } for handlers GETs never reach. */
  warmup?: {
    paths: Array<string | WarmupRequestUser>;
    count?: number;
    concurrency?: number;
    cpu?: WarmupCpu;
  };
  smoke?: Array<{ path: string; status?: number }>;
  drainTimeoutMs?: number;
  stopTimeoutMs?: number;
  bootTimeoutMs?: number;
  releaseTimeoutMs?: number;
  keepReleases?: number;
  /** SQL migrations to check before the release phase runs them (the migration linter). */
  migrations?: MigrationsUser;
  /** Process types that must never run twice at once. */
  singleton?: string[];
  /** Batch sizes of the rolling strategy. */
  rolling?: RollingUser;
  canary?: CanaryUser;
  /** Milliseconds the old release stays on warm standby after the switch; 0 disables. */
  bakeMs?: number;
  /** When a new release is rolled back without anyone asking. */
  rollback?: RollbackUser;
  /** HTTPS for the app's domains (the router's --https-port serves it). */
  https?: HttpsUser;
  /** How the router treats the app's requests. */
  router?: RouterUser;
}

export interface RouterUser {
  /** Requests one web instance is given at a time; the rest wait in the router's queue. 0: no limit. */
  maxRequestsPerInstance?: number;
  /** How long a request waits for a ready instance (or a free slot) before a 503. */
  holdTimeoutMs?: number;
}

export interface HttpsUser {
  /** Plaintext requests get 308 Permanent Redirect to the same URL over HTTPS. */
  redirect?: boolean;
  /** Strict-Transport-Security max-age (seconds) on responses over HTTPS; 0 sends none. */
  hstsMaxAgeS?: number;
}

/** An instance count (`2`) or a share of the formation's quantity (`"25%"`), as Kubernetes has it. */
export type AmountUser = number | `${number}%`;

export interface RollingUser {
  /** New instances started beyond the quantity at a time. */
  maxSurge?: AmountUser;
  /** Old instances stopped before their replacements are proven. */
  maxUnavailable?: AmountUser;
}

export interface CanaryStepUser {
  /** Percent of requests the new release gets during this step. */
  weight: number;
  bakeMs?: number;
}

export interface CanaryUser {
  /** A bare number is a weight with the default bakeMs. */
  steps?: Array<number | CanaryStepUser>;
  /** A client keeps the release it got first. */
  sticky?: boolean;
}

export interface RollbackUser {
  auto?: boolean;
  minRequests?: number;
  /** Percentage points the new release's error rate may exceed the old one's by. */
  errorRateIncrease?: number;
  p99Ratio?: number;
  p99MinIncreaseMs?: number;
  maxCrashes?: number;
}

export interface MigrationsUser {
  /** Directory of .sql migrations, relative to the app. */
  dir: string;
  /** PostgreSQL major version the migrations run on (lock behaviour differs by version). */
  postgres?: number;
  /** Block the deploy on warnings too, not only on errors. */
  strict?: boolean;
}

export interface WarmupRequestUser {
  method?: string;
  path: string;
  body?: string;
}

/** app.json as a person writes it (after validation; invalid parts are dropped). */
export interface UserConfig {
  name?: string;
  description?: string;
  formation?: Record<string, { quantity?: number; size?: string }>;
  healthchecks?: Record<string, HealthcheckUser[]>;
  scripts?: { dokku?: { predeploy?: string; postdeploy?: string }; postdeploy?: string };
  env?: Record<string, string | EnvVarUser>;
  baton?: BatonUserConfig;
}

export interface AppJsonResult {
  config: UserConfig;
  problems: ConfigProblem[];
  /** 1-based line of each key path in the source, for later problems (see resolve.ts). */
  keyLines: ReadonlyMap<string, number>;
}

/** Keys of Heroku's app.json schema plus Dokku's `healthchecks` and `cron`; only some are used. */
const TOP_KEYS = [
  "name",
  "description",
  "keywords",
  "website",
  "repository",
  "logo",
  "success_url",
  "scripts",
  "env",
  "formation",
  "image",
  "addons",
  "buildpacks",
  "environments",
  "stack",
  "cron",
  "healthchecks",
  "baton",
];
const BATON_KEYS = [
  "build",
  "buildCache",
  "strategy",
  "warmup",
  "smoke",
  "drainTimeoutMs",
  "stopTimeoutMs",
  "bootTimeoutMs",
  "releaseTimeoutMs",
  "keepReleases",
  "migrations",
  "singleton",
  "rolling",
  "canary",
  "bakeMs",
  "rollback",
  "https",
  "router",
];
/** Two years, as the router allows (router/table.ts); the HSTS preload list asks for one. */
const MAX_HSTS_MAX_AGE_S = 63_072_000;
/** The router's own bounds (router/table.ts, router/options.ts), checked here so a deploy fails early. */
const MAX_REQUESTS_PER_INSTANCE = 100_000;
const MAX_HOLD_TIMEOUT_MS = 600_000;
const ROLLBACK_KEYS = ["auto", "minRequests", "errorRateIncrease", "p99Ratio", "p99MinIncreaseMs", "maxCrashes"];
/** Up to a day: longer bakes would hold a deploy (and the queue behind it) for too long. */
const MAX_BAKE_MS = 86_400_000;
const MAX_CANARY_STEPS = 10;
/** A whole percentage from 0% to 100%, as Kubernetes writes maxSurge and maxUnavailable. */
const PERCENT = /^(\d{1,3})%$/;
/** A warm-up path as a string: "/path" or "METHOD /path". */
const WARMUP_LINE = /^(?:[A-Z]+ )?\/[\x21-\x7e]*$/;
/**
 * A request path baton itself sends (health checks, smoke, warm-up): visible ASCII only, since
 * node:http throws on a space or a control character, and the router refuses such a health path.
 */
const REQUEST_PATH = /^\/[\x21-\x7e]*$/;
/** Dokku's health check keys; baton reads the ones in HealthcheckUser and accepts the rest. */
const HEALTHCHECK_KEYS = [
  "type",
  "name",
  "path",
  "attempts",
  "wait",
  "timeout",
  "initialDelay",
  "content",
  "port",
  "command",
  "listening",
  "uptime",
  "scheme",
  "httpHeaders",
  "onFailure",
  "warn",
];
const STRATEGIES: readonly DeployStrategy[] = ["preboot", "rolling", "canary"];
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Json = Record<string, unknown>;

/**
 * `out[key] = value` as an own property even when the key is "__proto__" (a valid process type
 * and env name): a plain assignment would set the object's prototype and the entry would vanish.
 */
function setOwn<T>(out: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}
const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const typeOf = (value: unknown): string => (value === null ? "null" : Array.isArray(value) ? "an array" : typeof value);

/** Parse and validate app.json, collecting every problem. */
export function parseAppJson(text: string, file = "app.json"): AppJsonResult {
  const source = text.replace(/^\uFEFF/, "");
  const scan = scanJson(source);
  const keyLines = new Map([...scan.keys].map(([path, position]) => [path, position.line]));
  const problems: ConfigProblem[] = [];
  if (scan.error !== undefined) {
    const { line, column, message } = scan.error;
    problems.push({ file, line, column, message: `invalid JSON: ${message}` });
    return { config: {}, problems, keyLines };
  }
  for (const { path, at, first } of scan.duplicates) {
    problems.push({
      file,
      line: at.line,
      column: at.column,
      key: path,
      message: `duplicate key (first on line ${first.line}): JSON keeps only the last one`,
    });
  }
  let root: unknown;
  try {
    root = JSON.parse(source);
  } catch (error) {
    // The scanner is stricter than JSON.parse, so this is not expected; report it anyway.
    problems.push({ file, message: `invalid JSON: ${(error as Error).message}` });
    return { config: {}, problems, keyLines };
  }
  const check = new Checker(file, keyLines, problems);
  return { config: check.root(root), problems, keyLines };
}

class Checker {
  constructor(
    private readonly file: string,
    private readonly keyLines: ReadonlyMap<string, number>,
    private readonly problems: ConfigProblem[],
  ) {}

  /** Report at the key's line, or its nearest ancestor's when the key itself is missing. */
  problem(key: string, message: string): void {
    const line = lineOfKey(this.keyLines, key);
    this.problems.push({ file: this.file, ...(line === undefined ? {} : { line }), key, message });
  }

  object(value: unknown, key: string): value is Json {
    if (isObject(value)) return true;
    this.problem(key, `must be an object, got ${typeOf(value)}`);
    return false;
  }

  unknownKeys(value: Json, known: readonly string[], prefix: string, what: string): void {
    for (const key of Object.keys(value)) {
      if (known.includes(key)) continue;
      const near = nearestKey(key, known);
      this.problem(
        prefix === "" ? key : `${prefix}.${key}`,
        near === undefined ? `unknown ${what} key` : `unknown ${what} key; did you mean "${near}"?`,
      );
    }
  }

  string(
    value: unknown,
    key: string,
    options: { nonEmpty?: boolean; startsWith?: string; requestPath?: boolean } = {},
  ): string | undefined {
    if (typeof value !== "string") {
      this.problem(key, value === undefined ? "is required" : `must be a string, got ${typeOf(value)}`);
      return undefined;
    }
    // Commands and env values reach spawn(), which throws on a NUL byte; no other string needs one.
    if (value.includes("\0")) {
      this.problem(key, "must not contain a NUL character");
      return undefined;
    }
    if (options.nonEmpty && value.trim() === "") {
      this.problem(key, "must not be empty");
      return undefined;
    }
    if (options.startsWith !== undefined && !value.startsWith(options.startsWith)) {
      this.problem(key, `must start with "${options.startsWith}", got ${JSON.stringify(value)}`);
      return undefined;
    }
    if (options.requestPath && !REQUEST_PATH.test(value)) {
      this.problem(
        key,
        `must be a path without spaces or control characters (percent-encode them), got ${JSON.stringify(value)}`,
      );
      return undefined;
    }
    return value;
  }

  int(value: unknown, key: string, min: number, max: number): number | undefined {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      this.problem(key, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return value;
  }

  /** Any finite number, fractions included (rates and ratios). */
  number(value: unknown, key: string, min: number, max: number): number | undefined {
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
      this.problem(key, `must be a number from ${min} to ${max}, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return value;
  }

  boolean(value: unknown, key: string): boolean | undefined {
    if (typeof value === "boolean") return value;
    this.problem(key, `must be true or false, got ${typeOf(value)}`);
    return undefined;
  }

  /** Copy `obj[name]` into `out[name]` through `read` when present. */
  optional<T, K extends string>(
    obj: Json,
    name: K,
    prefix: string,
    out: Partial<Record<K, T>>,
    read: (value: unknown, key: string) => T | undefined,
  ): void {
    if (!Object.hasOwn(obj, name)) return;
    const result = read(obj[name], prefix === "" ? name : `${prefix}.${name}`);
    if (result !== undefined) out[name] = result;
  }

  root(value: unknown): UserConfig {
    const config: UserConfig = {};
    if (!isObject(value)) {
      this.problem("", `must be a JSON object, got ${typeOf(value)}`);
      return config;
    }
    this.unknownKeys(value, TOP_KEYS, "", "app.json");
    this.optional(value, "name", "", config, (v, k) => this.string(v, k, { nonEmpty: true }));
    this.optional(value, "description", "", config, (v, k) => this.string(v, k));
    this.optional(value, "formation", "", config, (v, k) => this.formation(v, k));
    this.optional(value, "healthchecks", "", config, (v, k) => this.healthchecks(v, k));
    this.optional(value, "scripts", "", config, (v, k) => this.scripts(v, k));
    this.optional(value, "env", "", config, (v, k) => this.env(v, k));
    this.optional(value, "baton", "", config, (v, k) => this.baton(v, k));
    return config;
  }

  formation(value: unknown, key: string): UserConfig["formation"] {
    if (!this.object(value, key)) return undefined;
    const out: NonNullable<UserConfig["formation"]> = {};
    for (const [type, entry] of Object.entries(value)) {
      const at = `${key}.${type}`;
      if (!PROCESS_NAME.test(type)) this.problem(at, 'process type must be letters, digits, "_" or "-"');
      if (!this.object(entry, at)) continue;
      this.unknownKeys(entry, ["quantity", "size"], at, "formation");
      const item: { quantity?: number; size?: string } = {};
      this.optional(entry, "quantity", at, item, (v, k) => this.int(v, k, 0, 100));
      this.optional(entry, "size", at, item, (v, k) => this.string(v, k, { nonEmpty: true }));
      setOwn(out, type, item);
    }
    return out;
  }

  healthchecks(value: unknown, key: string): UserConfig["healthchecks"] {
    if (!this.object(value, key)) return undefined;
    const out: NonNullable<UserConfig["healthchecks"]> = {};
    for (const [type, list] of Object.entries(value)) {
      const at = `${key}.${type}`;
      if (!PROCESS_NAME.test(type)) this.problem(at, 'process type must be letters, digits, "_" or "-"');
      if (!Array.isArray(list)) {
        this.problem(at, `must be an array of checks, got ${typeOf(list)}`);
        continue;
      }
      const checks: HealthcheckUser[] = [];
      list.forEach((entry, n) => {
        const itemKey = `${at}[${n}]`;
        if (!this.object(entry, itemKey)) return;
        this.unknownKeys(entry, HEALTHCHECK_KEYS, itemKey, "health check");
        const kind = entry.type;
        if (kind !== "startup" && kind !== "liveness" && kind !== "readiness") {
          this.problem(`${itemKey}.type`, `must be "startup", "liveness" or "readiness", got ${JSON.stringify(kind)}`);
          return;
        }
        const check: HealthcheckUser = { type: kind };
        this.optional(entry, "name", itemKey, check, (v, k) => this.string(v, k));
        this.optional(entry, "path", itemKey, check, (v, k) =>
          this.string(v, k, { startsWith: "/", requestPath: true }),
        );
        this.optional(entry, "attempts", itemKey, check, (v, k) => this.int(v, k, 1, 1000));
        this.optional(entry, "wait", itemKey, check, (v, k) => this.int(v, k, 0, 3600));
        this.optional(entry, "timeout", itemKey, check, (v, k) => this.int(v, k, 1, 3600));
        this.optional(entry, "initialDelay", itemKey, check, (v, k) => this.int(v, k, 0, 3600));
        this.optional(entry, "content", itemKey, check, (v, k) => this.string(v, k));
        this.optional(entry, "port", itemKey, check, (v, k) => this.int(v, k, 1, 65535));
        checks.push(check);
      });
      setOwn(out, type, checks);
    }
    return out;
  }

  scripts(value: unknown, key: string): UserConfig["scripts"] {
    if (!this.object(value, key)) return undefined;
    this.unknownKeys(value, ["dokku", "postdeploy", "pr-predestroy"], key, "scripts");
    const out: NonNullable<UserConfig["scripts"]> = {};
    this.optional(value, "postdeploy", key, out, (v, k) => this.string(v, k, { nonEmpty: true }));
    this.optional(value, "dokku", key, out, (v, k) => {
      if (!this.object(v, k)) return undefined;
      this.unknownKeys(v, ["predeploy", "postdeploy"], k, "scripts.dokku");
      const dokku: { predeploy?: string; postdeploy?: string } = {};
      this.optional(v, "predeploy", k, dokku, (w, j) => this.string(w, j, { nonEmpty: true }));
      this.optional(v, "postdeploy", k, dokku, (w, j) => this.string(w, j, { nonEmpty: true }));
      return dokku;
    });
    return out;
  }

  env(value: unknown, key: string): UserConfig["env"] {
    if (!this.object(value, key)) return undefined;
    const out: NonNullable<UserConfig["env"]> = {};
    for (const [name, entry] of Object.entries(value)) {
      const at = `${key}.${name}`;
      if (!ENV_NAME.test(name)) {
        this.problem(at, "env var names are letters, digits and _ and do not start with a digit");
        continue;
      }
      if (typeof entry === "string") {
        const text = this.string(entry, at);
        if (text !== undefined) setOwn(out, name, text);
        continue;
      }
      if (!isObject(entry)) {
        this.problem(at, `must be a string or an object, got ${typeOf(entry)}`);
        continue;
      }
      this.unknownKeys(entry, ["value", "required", "description", "generator"], at, "env");
      const item: EnvVarUser = {};
      this.optional(entry, "value", at, item, (v, k) => this.string(v, k));
      this.optional(entry, "required", at, item, (v, k) => this.boolean(v, k));
      this.optional(entry, "description", at, item, (v, k) => this.string(v, k));
      this.optional(entry, "generator", at, item, (v, k) => {
        if (v === "secret") return v;
        this.problem(k, `the only generator is "secret", got ${JSON.stringify(v)}`);
        return undefined;
      });
      setOwn(out, name, item);
    }
    return out;
  }

  baton(value: unknown, key: string): BatonUserConfig | undefined {
    if (!this.object(value, key)) return undefined;
    this.unknownKeys(value, BATON_KEYS, key, "baton");
    const out: BatonUserConfig = {};
    this.optional(value, "build", key, out, (v, k) => this.string(v, k, { nonEmpty: true }));
    this.optional(value, "strategy", key, out, (v, k) => {
      if (STRATEGIES.includes(v as DeployStrategy)) return v as DeployStrategy;
      this.problem(k, `must be one of ${STRATEGIES.map((s) => `"${s}"`).join(", ")}, got ${JSON.stringify(v)}`);
      return undefined;
    });
    this.optional(value, "warmup", key, out, (v, k) => this.warmup(v, k));
    this.optional(value, "smoke", key, out, (v, k) => this.smoke(v, k));
    this.optional(value, "drainTimeoutMs", key, out, (v, k) => this.int(v, k, 0, 3_600_000));
    this.optional(value, "stopTimeoutMs", key, out, (v, k) => this.int(v, k, 0, 3_600_000));
    this.optional(value, "bootTimeoutMs", key, out, (v, k) => this.int(v, k, 1_000, 3_600_000));
    this.optional(value, "releaseTimeoutMs", key, out, (v, k) => this.int(v, k, 1_000, 86_400_000));
    this.optional(value, "keepReleases", key, out, (v, k) => this.int(v, k, 1, 100));
    this.optional(value, "buildCache", key, out, (v, k) => this.boolean(v, k));
    this.optional(value, "migrations", key, out, (v, k) => this.migrations(v, k));
    this.optional(value, "singleton", key, out, (v, k) => {
      if (!Array.isArray(v)) {
        this.problem(k, `must be an array of process types, got ${typeOf(v)}`);
        return undefined;
      }
      const names: string[] = [];
      v.forEach((name, n) => {
        if (typeof name === "string" && PROCESS_NAME.test(name)) names.push(name);
        else this.problem(`${k}[${n}]`, `must be a process type name, got ${JSON.stringify(name)}`);
      });
      return names;
    });
    this.optional(value, "rolling", key, out, (v, k) => this.rolling(v, k));
    this.optional(value, "canary", key, out, (v, k) => this.canary(v, k));
    this.optional(value, "bakeMs", key, out, (v, k) => this.int(v, k, 0, MAX_BAKE_MS));
    this.optional(value, "rollback", key, out, (v, k) => this.rollback(v, k));
    this.optional(value, "https", key, out, (v, k) => this.https(v, k));
    this.optional(value, "router", key, out, (v, k) => this.router(v, k));
    return out;
  }

  router(value: unknown, key: string): RouterUser | undefined {
    if (!this.object(value, key)) return undefined;
    this.unknownKeys(value, ["maxRequestsPerInstance", "holdTimeoutMs"], key, "router");
    const out: RouterUser = {};
    this.optional(value, "maxRequestsPerInstance", key, out, (v, k) => this.int(v, k, 0, MAX_REQUESTS_PER_INSTANCE));
    this.optional(value, "holdTimeoutMs", key, out, (v, k) => this.int(v, k, 0, MAX_HOLD_TIMEOUT_MS));
    return out;
  }

  https(value: unknown, key: string): HttpsUser | undefined {
    if (!this.object(value, key)) return undefined;
    this.unknownKeys(value, ["redirect", "hstsMaxAgeS"], key, "https");
    const out: HttpsUser = {};
    this.optional(value, "redirect", key, out, (v, k) => this.boolean(v, k));
    this.optional(value, "hstsMaxAgeS", key, out, (v, k) => this.int(v, k, 0, MAX_HSTS_MAX_AGE_S));
    return out;
  }

  amount(value: unknown, key: string): AmountUser | undefined {
    if (typeof value === "number" && Number.isInteger(value) && value >= 0) return value;
    const percent = typeof value === "string" ? PERCENT.exec(value) : null;
    if (percent !== null && Number(percent[1]) <= 100) return value as `${number}%`;
    this.problem(key, `must be an integer >= 0 or a percentage from "0%" to "100%", got ${JSON.stringify(value)}`);
    return undefined;
  }

  rolling(value: unknown, key: string): RollingUser | undefined {
    if (!this.object(value, key)) return undefined;
    this.unknownKeys(value, ["maxSurge", "maxUnavailable"], key, "rolling");
    const out: RollingUser = {};
    this.optional(value, "maxSurge", key, out, (v, k) => this.amount(v, k));
    this.optional(value, "maxUnavailable", key, out, (v, k) => this.amount(v, k));
    const allValid = (["maxSurge", "maxUnavailable"] as const).every(
      (name) => !Object.hasOwn(value, name) || out[name] !== undefined,
    );
    // With no instance added and none taken away, a rolling deploy could never replace anything.
    // The defaults are maxSurge "25%" and maxUnavailable 0, so only an explicit 0 leads here.
    const isZero = (amount: AmountUser): boolean => amount === 0 || amount === "0%";
    if (allValid && isZero(out.maxSurge ?? "25%") && isZero(out.maxUnavailable ?? 0)) {
      this.problem(key, "maxSurge and maxUnavailable cannot both be 0: no instance could ever be replaced");
      return undefined;
    }
    return out;
  }

  canary(value: unknown, key: string): CanaryUser | undefined {
    if (!this.object(value, key)) return undefined;
    this.unknownKeys(value, ["steps", "sticky"], key, "canary");
    const out: CanaryUser = {};
    this.optional(value, "steps", key, out, (v, k) => this.canarySteps(v, k));
    this.optional(value, "sticky", key, out, (v, k) => this.boolean(v, k));
    return out;
  }

  canarySteps(value: unknown, key: string): CanaryUser["steps"] {
    if (!Array.isArray(value) || value.length < 1 || value.length > MAX_CANARY_STEPS) {
      const got = Array.isArray(value) ? `${value.length} steps` : typeOf(value);
      this.problem(key, `must be an array of 1 to ${MAX_CANARY_STEPS} steps such as [10, 50], got ${got}`);
      return undefined;
    }
    const steps: Array<number | CanaryStepUser> = [];
    let previous = 0;
    value.forEach((entry, n) => {
      const at = `${key}[${n}]`;
      const step = this.canaryStep(entry, at);
      if (step === undefined) return;
      const weight = typeof step === "number" ? step : step.weight;
      // Each step must move more traffic than the last, or it would judge nothing new.
      if (weight <= previous) {
        const weightKey = typeof step === "number" ? at : `${at}.weight`;
        this.problem(weightKey, `must be greater than the previous step's weight (${previous}), got ${weight}`);
        return;
      }
      previous = weight;
      steps.push(step);
    });
    return steps.length === 0 ? undefined : steps;
  }

  /** 1..99: 100% is implied after the last step, and 0% would give the judge no request to look at. */
  canaryStep(entry: unknown, at: string): number | CanaryStepUser | undefined {
    if (typeof entry === "number") return this.int(entry, at, 1, 99);
    if (!isObject(entry)) {
      this.problem(at, `must be a weight or { "weight", "bakeMs" }, got ${typeOf(entry)}`);
      return undefined;
    }
    this.unknownKeys(entry, ["weight", "bakeMs"], at, "canary step");
    if (!Object.hasOwn(entry, "weight")) {
      this.problem(`${at}.weight`, "is required");
      return undefined;
    }
    const weight = this.int(entry.weight, `${at}.weight`, 1, 99);
    if (weight === undefined) return undefined;
    const step: CanaryStepUser = { weight };
    this.optional(entry, "bakeMs", at, step, (v, k) => this.int(v, k, 0, MAX_BAKE_MS));
    return step;
  }

  rollback(value: unknown, key: string): RollbackUser | undefined {
    if (!this.object(value, key)) return undefined;
    this.unknownKeys(value, ROLLBACK_KEYS, key, "rollback");
    const out: RollbackUser = {};
    this.optional(value, "auto", key, out, (v, k) => this.boolean(v, k));
    this.optional(value, "minRequests", key, out, (v, k) => this.int(v, k, 10, 1_000_000));
    this.optional(value, "errorRateIncrease", key, out, (v, k) => this.number(v, k, 0, 100));
    this.optional(value, "p99Ratio", key, out, (v, k) => this.number(v, k, 1, 100));
    this.optional(value, "p99MinIncreaseMs", key, out, (v, k) => this.int(v, k, 0, 600_000));
    this.optional(value, "maxCrashes", key, out, (v, k) => this.int(v, k, 0, 1000));
    return out;
  }

  migrations(value: unknown, key: string): MigrationsUser | undefined {
    if (!this.object(value, key)) return undefined;
    this.unknownKeys(value, ["dir", "postgres", "strict"], key, "migrations");
    const dir = this.string(value.dir, `${key}.dir`, { nonEmpty: true });
    if (dir === undefined) return undefined;
    if (dir.startsWith("/") || dir.split("/").includes("..")) {
      this.problem(`${key}.dir`, 'must be a path inside the app, such as "db/migrations"');
      return undefined;
    }
    const out: MigrationsUser = { dir };
    this.optional(value, "postgres", key, out, (v, k) => this.int(v, k, 10, 30));
    this.optional(value, "strict", key, out, (v, k) => {
      if (typeof v === "boolean") return v;
      this.problem(k, `must be true or false, got ${JSON.stringify(v)}`);
      return undefined;
    });
    return out;
  }

  warmup(value: unknown, key: string): BatonUserConfig["warmup"] {
    if (!this.object(value, key)) return undefined;
    this.unknownKeys(value, ["paths", "count", "concurrency", "cpu"], key, "warmup");
    const paths: Array<string | WarmupRequestUser> = [];
    if (!Array.isArray(value.paths) || value.paths.length === 0) {
      this.problem(`${key}.paths`, 'must be a non-empty array of paths such as ["/", "POST /api/orders"]');
    } else {
      value.paths.forEach((entry, n) => {
        const at = `${key}.paths[${n}]`;
        if (typeof entry === "string") {
          const match = WARMUP_LINE.exec(entry);
          if (match === null) this.problem(at, `must be "/path" or "METHOD /path", got ${JSON.stringify(entry)}`);
          else paths.push(entry);
          return;
        }
        if (!this.object(entry, at)) return;
        this.unknownKeys(entry, ["method", "path", "body"], at, "warm-up request");
        const path = this.string(entry.path, `${at}.path`, { startsWith: "/", requestPath: true });
        if (path === undefined) return;
        const item: WarmupRequestUser = { path };
        this.optional(entry, "method", at, item, (v, k) => {
          if (typeof v === "string" && /^[A-Z]+$/.test(v)) return v;
          this.problem(k, `must be an HTTP method in capitals such as "POST", got ${JSON.stringify(v)}`);
          return undefined;
        });
        this.optional(entry, "body", at, item, (v, k) => this.string(v, k, {}));
        paths.push(item);
      });
    }
    const out: NonNullable<BatonUserConfig["warmup"]> = { paths };
    this.optional(value, "count", key, out, (v, k) => this.int(v, k, 1, 100_000));
    this.optional(value, "concurrency", key, out, (v, k) => this.int(v, k, 1, 256));
    this.optional(value, "cpu", key, out, (v, k) => {
      if (v === "idle" || v === "normal") return v;
      this.problem(k, `must be "idle" or "normal", got ${JSON.stringify(v)}`);
      return undefined;
    });
    return out;
  }

  smoke(value: unknown, key: string): BatonUserConfig["smoke"] {
    if (!Array.isArray(value)) {
      this.problem(key, `must be an array of { path, status? }, got ${typeOf(value)}`);
      return undefined;
    }
    const out: NonNullable<BatonUserConfig["smoke"]> = [];
    value.forEach((entry, n) => {
      const at = `${key}[${n}]`;
      if (!this.object(entry, at)) return;
      this.unknownKeys(entry, ["path", "status"], at, "smoke");
      const path = this.string(entry.path, `${at}.path`, { startsWith: "/", requestPath: true });
      if (path === undefined) return;
      const item: { path: string; status?: number } = { path };
      this.optional(entry, "status", at, item, (v, k) => this.int(v, k, 100, 599));
      out.push(item);
    });
    return out;
  }
}

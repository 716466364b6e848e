import type {
  AmountUser,
  CanaryStepUser,
  DeployStrategy,
  EnvVarUser,
  HealthcheckUser,
  UserConfig,
  WarmupCpu,
  WarmupRequestUser,
} from "./app-json.js";
import { type ConfigProblem, configError, lineOfKey } from "./problems.js";
import type { ProcessType } from "./procfile.js";

export interface ResolvedProcess {
  readonly name: string;
  readonly command: string;
  readonly quantity: number;
  readonly size: string | undefined;
  /** Never run two instances at once (no preboot overlap for this type). */
  readonly singleton: boolean;
}

/** An HTTP check against a new web instance before it gets traffic. */
export interface ResolvedCheck {
  readonly name: string;
  readonly path: string;
  readonly attempts: number;
  readonly waitMs: number;
  readonly timeoutMs: number;
  readonly initialDelayMs: number;
  /** Text the body must contain, when set. */
  readonly content: string | undefined;
  /** Port to probe instead of $PORT, when set. */
  readonly port: number | undefined;
  /** "default" when app.json declared no startup/readiness check for web. */
  readonly source: "app.json" | "default";
}

/** One warm-up request, sent in turn with the others `count` times per instance. */
export interface WarmupRequest {
  readonly method: string;
  readonly path: string;
  readonly body: string | undefined;
}

export interface ResolvedEnvVar {
  readonly value: string | undefined;
  readonly required: boolean;
  readonly description: string | undefined;
  readonly generator: string | undefined;
}

/** An instance count, or a share of a process type's quantity (resolved per deploy by batchSizes). */
export type Amount = { readonly count: number } | { readonly percent: number };

export interface CanaryStep {
  /** Percent of requests sent to the new release. */
  readonly weight: number;
  /** How long the step is watched before the next one. */
  readonly bakeMs: number;
}

/** Thresholds that roll a new release back without anyone asking (see docs/app-format.md). */
export interface RollbackThresholds {
  readonly auto: boolean;
  /** Requests the new release must have answered before any verdict on rates or latency. */
  readonly minRequests: number;
  /** Percentage points the new release's error rate may exceed the old one's by. */
  readonly errorRateIncrease: number;
  readonly p99Ratio: number;
  readonly p99MinIncreaseMs: number;
  readonly maxCrashes: number;
}

export interface ResolvedConfig {
  readonly name: string | undefined;
  /** Running process types in Procfile order; `release` is not one of them. */
  readonly processes: readonly ResolvedProcess[];
  /** The Procfile's `release` command, run once per deploy before the switch. */
  readonly releaseCommand: string | undefined;
  /** Build command; undefined when there is nothing to build. */
  readonly buildCommand: string | undefined;
  /**
   * The parts of the default build (no baton.build, a package.json): the install, which a deploy
   * skips when the dependencies are an earlier Release's (deploy/build-cache.ts), and whether
   * `npm run build` follows it. Undefined with a baton.build of the app's own.
   */
  readonly defaultBuild: { readonly install: string; readonly runBuildScript: boolean } | undefined;
  /** baton.buildCache (default true). */
  readonly buildCache: boolean;
  readonly predeployCommand: string | undefined;
  readonly postdeployCommand: string | undefined;
  /** Web startup/readiness checks; empty when the Procfile has no `web` type. */
  readonly readiness: readonly ResolvedCheck[];
  /** Web liveness checks (run while the instance serves). */
  readonly liveness: readonly ResolvedCheck[];
  readonly warmup:
    | {
        readonly requests: readonly WarmupRequest[];
        readonly count: number;
        readonly concurrency: number;
        readonly timeoutMs: number;
        readonly cpu: WarmupCpu;
      }
    | undefined;
  readonly smoke: readonly { readonly path: string; readonly status: number }[];
  readonly strategy: DeployStrategy;
  readonly rolling: { readonly maxSurge: Amount; readonly maxUnavailable: Amount };
  /** 100% is implied after the last step. */
  readonly canary: { readonly steps: readonly CanaryStep[]; readonly sticky: boolean };
  /** How long the old release stays on warm standby after the switch; 0: stopped at once. */
  readonly bakeMs: number;
  readonly rollback: RollbackThresholds;
  readonly timeouts: {
    readonly drainMs: number;
    readonly stopMs: number;
    readonly bootMs: number;
    readonly releaseMs: number;
  };
  readonly keepReleases: number;
  /** What the router does for the app's plaintext requests and over HTTPS (app.json baton.https). */
  readonly https: { readonly redirect: boolean; readonly hstsMaxAgeS: number };
  /** The router's per-app settings (app.json baton.router); holdTimeoutMs absent: the router's default. */
  readonly router: { readonly maxRequestsPerInstance: number; readonly holdTimeoutMs?: number };
  /** Migrations linted before the release phase; undefined when app.json names none. */
  readonly migrations: { readonly dir: string; readonly postgres: number; readonly strict: boolean } | undefined;
  readonly env: Readonly<Record<string, ResolvedEnvVar>>;
}

export interface PackageJsonLike {
  scripts?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface ResolveInput {
  procfile: readonly ProcessType[];
  appJson?: UserConfig;
  /** package.json as parsed, when the app has one. */
  packageJson?: PackageJsonLike;
  /** Whether package-lock.json (or npm-shrinkwrap.json) is present next to package.json. */
  hasLockfile?: boolean;
  /** From parseAppJson, to give cross-file problems a line. */
  appJsonLines?: ReadonlyMap<string, number>;
  appJsonFile?: string;
}

export const DEFAULTS = {
  strategy: "preboot",
  drainMs: 30_000,
  stopMs: 10_000,
  bootMs: 60_000,
  releaseMs: 300_000,
  keepReleases: 5,
  postgres: 16,
  check: { path: "/", attempts: 5, waitS: 5, timeoutS: 5, initialDelayS: 0 },
  warmup: { count: 20, concurrency: 4, timeoutMs: 10_000, cpu: "idle" as WarmupCpu },
  smokeStatus: 200,
  rolling: { maxSurge: { percent: 25 }, maxUnavailable: { count: 0 } },
  canary: {
    steps: [
      { weight: 10, bakeMs: 60_000 },
      { weight: 50, bakeMs: 60_000 },
    ],
    sticky: true,
  },
  canaryStepBakeMs: 60_000,
  bakeMs: 60_000,
  rollback: { auto: true, minRequests: 100, errorRateIncrease: 1, p99Ratio: 2, p99MinIncreaseMs: 25, maxCrashes: 0 },
} as const;

const RELEASE = "release";

/**
 * Problems that need both files: formation, health checks or singletons naming a process type the
 * Procfile lacks, and so on. Empty when the pair is consistent.
 */
export function crossCheck(input: ResolveInput): ConfigProblem[] {
  const file = input.appJsonFile ?? "app.json";
  const problems: ConfigProblem[] = [];
  const at = (key: string, message: string): void => {
    const line = lineOfKey(input.appJsonLines, key);
    problems.push({ file, ...(line === undefined ? {} : { line }), key, message });
  };
  const declared = new Set(input.procfile.map((p) => p.name));
  const app = input.appJson ?? {};
  if (input.procfile.length > 0 && input.procfile.every((p) => p.name === RELEASE)) {
    problems.push({ file: "Procfile", message: "declares only a release command and no process type to run" });
  }
  for (const [type, entry] of Object.entries(app.formation ?? {})) {
    if (type === RELEASE) at(`formation.${type}`, "release runs once per deploy and cannot be scaled");
    else if (!declared.has(type)) at(`formation.${type}`, `process type "${type}" is not in the Procfile`);
    if (app.baton?.singleton?.includes(type) && (entry.quantity ?? 0) > 1) {
      at(`formation.${type}.quantity`, `"${type}" is a singleton (baton.singleton) and cannot run more than once`);
    }
  }
  for (const type of Object.keys(app.healthchecks ?? {})) {
    if (!declared.has(type) || type === RELEASE)
      at(`healthchecks.${type}`, `process type "${type}" is not in the Procfile`);
  }
  (app.baton?.singleton ?? []).forEach((type, n) => {
    if (!declared.has(type) || type === RELEASE) {
      at(`baton.singleton[${n}]`, `process type "${type}" is not in the Procfile`);
    }
  });
  return problems;
}

/** Fill in defaults and freeze; throws BATON_CONFIG_INVALID listing every cross-file problem. */
export function resolveConfig(input: ResolveInput): ResolvedConfig {
  const problems = crossCheck(input);
  if (problems.length > 0) throw configError(problems);
  const app = input.appJson ?? {};
  const baton = app.baton ?? {};
  const singletons = new Set(baton.singleton ?? []);
  // Dokku's default scale (like Heroku's first deploy): one `web` process when the Procfile declares
  // one and 0 of every other type, until app.json `formation` (or a later scale) says otherwise.
  const processes = input.procfile
    .filter((p) => p.name !== RELEASE)
    .map(
      (p): ResolvedProcess => ({
        name: p.name,
        command: p.command,
        quantity: app.formation?.[p.name]?.quantity ?? (p.name === "web" ? 1 : 0),
        size: app.formation?.[p.name]?.size,
        singleton: singletons.has(p.name),
      }),
    );
  const hasWeb = processes.some((p) => p.name === "web");
  const webChecks = app.healthchecks?.web ?? [];
  const readinessUser = webChecks.filter((c) => c.type === "startup" || c.type === "readiness");
  const readiness = !hasWeb
    ? []
    : readinessUser.length > 0
      ? readinessUser.map((c, n) => check(c, `readiness check ${n + 1}`, "app.json"))
      : [check({ type: "startup" }, "default readiness check", "default")];
  const liveness = hasWeb
    ? webChecks.filter((c) => c.type === "liveness").map((c, n) => check(c, `liveness check ${n + 1}`, "app.json"))
    : [];
  const release = input.procfile.find((p) => p.name === RELEASE);
  const resolved: ResolvedConfig = {
    name: app.name,
    processes,
    releaseCommand: release?.command,
    buildCommand: baton.build ?? defaultBuild(input.packageJson, input.hasLockfile ?? false),
    defaultBuild:
      baton.build === undefined ? defaultBuildParts(input.packageJson, input.hasLockfile ?? false) : undefined,
    buildCache: baton.buildCache ?? true,
    predeployCommand: app.scripts?.dokku?.predeploy,
    postdeployCommand: app.scripts?.dokku?.postdeploy ?? app.scripts?.postdeploy,
    readiness,
    liveness,
    warmup:
      baton.warmup === undefined
        ? undefined
        : {
            requests: baton.warmup.paths.map(warmupRequest),
            count: baton.warmup.count ?? DEFAULTS.warmup.count,
            concurrency: baton.warmup.concurrency ?? DEFAULTS.warmup.concurrency,
            timeoutMs: DEFAULTS.warmup.timeoutMs,
            cpu: baton.warmup.cpu ?? DEFAULTS.warmup.cpu,
          },
    smoke: (baton.smoke ?? []).map((s) => ({ path: s.path, status: s.status ?? DEFAULTS.smokeStatus })),
    strategy: baton.strategy ?? DEFAULTS.strategy,
    rolling: {
      maxSurge: baton.rolling?.maxSurge === undefined ? DEFAULTS.rolling.maxSurge : amount(baton.rolling.maxSurge),
      maxUnavailable:
        baton.rolling?.maxUnavailable === undefined
          ? DEFAULTS.rolling.maxUnavailable
          : amount(baton.rolling.maxUnavailable),
    },
    canary: {
      steps: baton.canary?.steps?.map(canaryStep) ?? DEFAULTS.canary.steps,
      sticky: baton.canary?.sticky ?? DEFAULTS.canary.sticky,
    },
    bakeMs: baton.bakeMs ?? DEFAULTS.bakeMs,
    rollback: { ...DEFAULTS.rollback, ...baton.rollback },
    timeouts: {
      drainMs: baton.drainTimeoutMs ?? DEFAULTS.drainMs,
      stopMs: baton.stopTimeoutMs ?? DEFAULTS.stopMs,
      bootMs: baton.bootTimeoutMs ?? DEFAULTS.bootMs,
      releaseMs: baton.releaseTimeoutMs ?? DEFAULTS.releaseMs,
    },
    keepReleases: baton.keepReleases ?? DEFAULTS.keepReleases,
    https: { redirect: baton.https?.redirect ?? false, hstsMaxAgeS: baton.https?.hstsMaxAgeS ?? 0 },
    router: {
      maxRequestsPerInstance: baton.router?.maxRequestsPerInstance ?? 0,
      ...(baton.router?.holdTimeoutMs === undefined ? {} : { holdTimeoutMs: baton.router.holdTimeoutMs }),
    },
    migrations:
      baton.migrations === undefined
        ? undefined
        : {
            dir: baton.migrations.dir,
            postgres: baton.migrations.postgres ?? DEFAULTS.postgres,
            strict: baton.migrations.strict ?? false,
          },
    env: Object.fromEntries(Object.entries(app.env ?? {}).map(([key, entry]) => [key, envVar(entry)])),
  };
  // structuredClone: the defaults above are shared objects, and deepFreeze must not freeze DEFAULTS.
  return deepFreeze(structuredClone(resolved));
}

/**
 * Fill the strategy keys (rolling, canary, bakeMs, rollback) that configs resolved by earlier
 * versions lack, key by key: releases keep their ResolvedConfig in the store, and deploying or
 * rolling back to an old one must not read `undefined.steps`. The other keys are trusted as they
 * are. Returns a frozen copy; the argument is left as it is.
 */
export function withStrategyDefaults(config: ResolvedConfig): ResolvedConfig {
  // The store's rows are cast to ResolvedConfig; this is what an old row really holds.
  const stored = config as Partial<Pick<ResolvedConfig, "rolling" | "canary" | "bakeMs" | "rollback">>;
  return deepFreeze(
    structuredClone({
      ...config,
      rolling: { ...DEFAULTS.rolling, ...stored.rolling },
      canary: { ...DEFAULTS.canary, ...stored.canary },
      bakeMs: stored.bakeMs ?? DEFAULTS.bakeMs,
      rollback: { ...DEFAULTS.rollback, ...stored.rollback },
    }),
  );
}

/**
 * Instances a rolling deploy adds beyond `quantity` (surge) and old ones it stops before their
 * replacements are proven (unavailable), at a time. Kubernetes' arithmetic: percentages are of
 * `quantity`, surge rounds up and unavailable down, so a small formation still moves; both 0 is
 * taken as surge 1. Unlike Kubernetes, at least one old instance always stays serving until new
 * ones are proven (invariant 3), and surge never exceeds `quantity` (more would only be stopped).
 * A quantity of 0 has nothing to replace: both are 0.
 */
export function batchSizes(
  quantity: number,
  rolling: ResolvedConfig["rolling"],
): { surge: number; unavailable: number } {
  const total = Math.max(0, Math.floor(quantity));
  if (total === 0) return { surge: 0, unavailable: 0 };
  const of = (value: Amount, round: (n: number) => number): number =>
    Math.max(0, "count" in value ? value.count : round((total * value.percent) / 100));
  const surge = Math.min(of(rolling.maxSurge, Math.ceil), total);
  const unavailable = Math.min(of(rolling.maxUnavailable, Math.floor), total - 1);
  return { surge: surge === 0 && unavailable === 0 ? 1 : surge, unavailable };
}

function amount(user: AmountUser): Amount {
  // The parser only lets integers and "N%" (N a whole number from 0 to 100) through.
  return typeof user === "number" ? { count: user } : { percent: Number.parseInt(user, 10) };
}

function canaryStep(user: number | CanaryStepUser): CanaryStep {
  return typeof user === "number"
    ? { weight: user, bakeMs: DEFAULTS.canaryStepBakeMs }
    : { weight: user.weight, bakeMs: user.bakeMs ?? DEFAULTS.canaryStepBakeMs };
}

function check(user: HealthcheckUser, fallbackName: string, source: ResolvedCheck["source"]): ResolvedCheck {
  const d = DEFAULTS.check;
  return {
    name: user.name ?? fallbackName,
    path: user.path ?? d.path,
    attempts: user.attempts ?? d.attempts,
    waitMs: (user.wait ?? d.waitS) * 1000,
    timeoutMs: (user.timeout ?? d.timeoutS) * 1000,
    initialDelayMs: (user.initialDelay ?? d.initialDelayS) * 1000,
    content: user.content,
    port: user.port,
    source,
  };
}

function envVar(entry: string | EnvVarUser): ResolvedEnvVar {
  if (typeof entry === "string") return { value: entry, required: true, description: undefined, generator: undefined };
  // Heroku: an env entry is required unless it says `"required": false`.
  return {
    value: entry.value,
    required: entry.required ?? true,
    description: entry.description,
    generator: entry.generator,
  };
}

function warmupRequest(entry: string | WarmupRequestUser): WarmupRequest {
  if (typeof entry !== "string") return { method: entry.method ?? "GET", path: entry.path, body: entry.body };
  const space = entry.indexOf(" ");
  return space < 0
    ? { method: "GET", path: entry, body: undefined }
    : { method: entry.slice(0, space), path: entry.slice(space + 1), body: undefined };
}

/** `npm ci` with a lockfile else `npm install`, then `npm run build` when there is a build script. */
export function defaultBuild(packageJson: PackageJsonLike | undefined, hasLockfile: boolean): string | undefined {
  const parts = defaultBuildParts(packageJson, hasLockfile);
  if (parts === undefined) return undefined;
  return parts.runBuildScript ? `${parts.install} && ${BUILD_SCRIPT}` : parts.install;
}

/** The command that runs package.json's build script. */
export const BUILD_SCRIPT = "npm run build";

function defaultBuildParts(
  packageJson: PackageJsonLike | undefined,
  hasLockfile: boolean,
): { install: string; runBuildScript: boolean } | undefined {
  if (packageJson === undefined) return undefined;
  const scripts = packageJson.scripts;
  return {
    install: hasLockfile ? "npm ci" : "npm install",
    runBuildScript: typeof scripts === "object" && scripts !== null && typeof scripts.build === "string",
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

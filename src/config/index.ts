export type { AppJsonResult, BatonUserConfig, DeployStrategy, HealthcheckUser, UserConfig } from "./app-json.js";
export { parseAppJson } from "./app-json.js";
export { loadAppConfig } from "./load.js";
export type { ConfigProblem } from "./problems.js";
export { formatProblem } from "./problems.js";
export type { ProcessType, ProcfileResult } from "./procfile.js";
export { parseProcfile } from "./procfile.js";
export type { ResolvedCheck, ResolvedConfig, ResolvedProcess, ResolveInput } from "./resolve.js";
export { DEFAULTS, resolveConfig } from "./resolve.js";

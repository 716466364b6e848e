export type {
  AmountUser,
  AppJsonResult,
  BatonUserConfig,
  CanaryStepUser,
  CanaryUser,
  DeployStrategy,
  HealthcheckUser,
  RollbackUser,
  RollingUser,
  UserConfig,
} from "./app-json.js";
export { parseAppJson } from "./app-json.js";
export { loadAppConfig } from "./load.js";
export type { ConfigProblem } from "./problems.js";
export { formatProblem } from "./problems.js";
export type { ProcessType, ProcfileResult } from "./procfile.js";
export { parseProcfile } from "./procfile.js";
export type {
  Amount,
  CanaryStep,
  ResolvedCheck,
  ResolvedConfig,
  ResolvedProcess,
  ResolveInput,
  RollbackThresholds,
} from "./resolve.js";
export { batchSizes, DEFAULTS, resolveConfig, withStrategyDefaults } from "./resolve.js";

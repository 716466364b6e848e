import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { type AppJsonResult, parseAppJson } from "./app-json.js";
import { type ConfigProblem, configError } from "./problems.js";
import { parseProcfile } from "./procfile.js";
import { crossCheck, type PackageJsonLike, type ResolvedConfig, resolveConfig } from "./resolve.js";

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Read an app's Procfile (required), app.json and package.json (optional) from `dir` and resolve
 * them. Throws one BATON_CONFIG_INVALID whose details.problems lists every problem in every file.
 */
export async function loadAppConfig(dir: string): Promise<ResolvedConfig> {
  const problems: ConfigProblem[] = [];
  const procfileText = await readOptional(join(dir, "Procfile"));
  if (procfileText === undefined) problems.push({ file: "Procfile", message: `not found in ${dir}` });
  const procfile = procfileText === undefined ? { processes: [], problems: [] } : parseProcfile(procfileText);
  problems.push(...procfile.problems);

  const appJsonText = await readOptional(join(dir, "app.json"));
  const appJson: AppJsonResult | undefined = appJsonText === undefined ? undefined : parseAppJson(appJsonText);
  if (appJson) problems.push(...appJson.problems);

  let packageJson: PackageJsonLike | undefined;
  const packageText = await readOptional(join(dir, "package.json"));
  if (packageText !== undefined) {
    try {
      const parsed: unknown = JSON.parse(packageText);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
        packageJson = parsed as PackageJsonLike;
      else problems.push({ file: "package.json", message: "must be a JSON object" });
    } catch (error) {
      problems.push({ file: "package.json", message: `invalid JSON: ${(error as Error).message}` });
    }
  }
  const hasLockfile =
    (await exists(join(dir, "package-lock.json"))) || (await exists(join(dir, "npm-shrinkwrap.json")));

  const input = {
    procfile: procfile.processes,
    ...(appJson ? { appJson: appJson.config, appJsonLines: appJson.keyLines } : {}),
    ...(packageJson ? { packageJson } : {}),
    hasLockfile,
  };
  // Cross-file checks only make sense when the Procfile itself was readable.
  if (procfileText !== undefined && procfile.problems.length === 0) problems.push(...crossCheck(input));
  if (problems.length > 0) throw configError(problems);
  return resolveConfig(input);
}

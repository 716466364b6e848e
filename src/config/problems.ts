import { BatonError } from "../core/errors.js";

/** One thing wrong with an app's config files; every parser collects all of them. */
export interface ConfigProblem {
  file: string;
  line?: number;
  column?: number;
  /** JSON key path such as `baton.warmup.count` (app.json only). */
  key?: string;
  message: string;
}

/** `file:line: key: message`, leaving out what is unknown. */
export function formatProblem(problem: ConfigProblem): string {
  let where = problem.file;
  if (problem.line !== undefined) where += `:${problem.line}`;
  if (problem.line !== undefined && problem.column !== undefined) where += `:${problem.column}`;
  return problem.key === undefined ? `${where}: ${problem.message}` : `${where}: ${problem.key}: ${problem.message}`;
}

/** One BatonError listing every problem, one per line. */
export function configError(problems: readonly ConfigProblem[]): BatonError {
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  return new BatonError("BATON_CONFIG_INVALID", `app config has ${count}:\n${problems.map(formatProblem).join("\n")}`, {
    details: { problems: problems.map((p) => ({ ...p })) },
    hint: "Fix every problem listed (see docs/app-format.md), then deploy again.",
  });
}

/** Levenshtein distance, for "did you mean" hints on short key names. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The known key closest to `key` when it looks like a typo of it, else undefined. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

/** Line of a key path, or of its nearest ancestor that is in the source (a missing key). */
export function lineOfKey(keyLines: ReadonlyMap<string, number> | undefined, key: string): number | undefined {
  let path = key;
  let line = keyLines?.get(path);
  while (line === undefined && path !== "") {
    const cut = Math.max(path.lastIndexOf("."), path.lastIndexOf("["));
    path = cut === -1 ? "" : path.slice(0, cut);
    line = keyLines?.get(path);
  }
  return line;
}

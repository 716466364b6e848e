import type { ConfigProblem } from "./problems.js";

/** One `name: command` line of a Procfile. */
export interface ProcessType {
  name: string;
  command: string;
  /** 1-based line in the Procfile. */
  line: number;
}

export interface ProcfileResult {
  /** In file order; lines with problems are left out. */
  processes: ProcessType[];
  problems: ConfigProblem[];
}

export const PROCESS_NAME = /^[A-Za-z0-9_-]+$/;

/**
 * Parse a Procfile the way Heroku does: `name: command` per line, blank lines and `#` comments
 * skipped. Collects every problem (bad line, bad name, empty command, duplicate) instead of stopping.
 */
export function parseProcfile(text: string, file = "Procfile"): ProcfileResult {
  const processes: ProcessType[] = [];
  const problems: ConfigProblem[] = [];
  const seen = new Map<string, number>();
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const colon = trimmed.indexOf(":");
    if (colon === -1) {
      problems.push({ file, line, message: `expected "name: command", got ${JSON.stringify(trimmed)}` });
      return;
    }
    const name = trimmed.slice(0, colon).trim();
    const command = trimmed.slice(colon + 1).trim();
    let ok = true;
    if (!PROCESS_NAME.test(name)) {
      problems.push({
        file,
        line,
        message: `process type ${JSON.stringify(name)} must be letters, digits, "_" or "-"`,
      });
      ok = false;
    }
    if (command === "") {
      problems.push({ file, line, message: `process type "${name}" has an empty command` });
      ok = false;
    } else if (command.includes("\0")) {
      // spawn() throws on a NUL byte: caught here, the deploy fails with a line instead of a crash.
      problems.push({ file, line, message: `process type "${name}" has a NUL character in its command` });
      ok = false;
    }
    const first = seen.get(name);
    if (first !== undefined && name !== "") {
      problems.push({ file, line, message: `process type "${name}" is already declared on line ${first}` });
      return;
    }
    seen.set(name, line);
    if (ok) processes.push({ name, command, line });
  });
  if (problems.length === 0 && processes.length === 0) {
    problems.push({ file, message: "declares no process types" });
  }
  return { processes, problems };
}

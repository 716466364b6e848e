/** Finding the .sql files to lint: directories are searched recursively, in a stable order. */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { BatonError } from "../core/errors.js";

/**
 * The .sql files named or found under the paths. Each directory's files come sorted by path
 * (code point order, so 0002_x.sql sorts before 0010_y.sql as migration tools order them) and
 * hidden directories and node_modules are skipped.
 */
export async function findSqlFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
      throw new BatonError(
        "BATON_USAGE",
        `cannot read ${path}: ${error.code === "ENOENT" ? "no such file or directory" : error.message}`,
        { cause: error },
      );
    });
    if (!info.isDirectory()) {
      files.push(path);
      continue;
    }
    const found = await sqlFilesUnder(path);
    if (found.length === 0) throw new BatonError("BATON_USAGE", `no .sql files under ${path}`);
    files.push(...found);
  }
  return files;
}

async function sqlFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sqlFilesUnder(path)));
    else if (entry.name.endsWith(".sql")) out.push(path);
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

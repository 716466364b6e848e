import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** Where baton keeps its state: --home, else BATON_HOME, else ~/.baton (per user, mode 0700). */
export function resolveHome(flag?: string): string {
  const home = resolve(flag ?? process.env.BATON_HOME ?? join(homedir(), ".baton"));
  mkdirSync(home, { recursive: true, mode: 0o700 });
  return home;
}

export const routerPaths = (home: string) => ({
  adminSocket: join(home, "router.sock"),
  statePath: join(home, "router-table.json"),
});

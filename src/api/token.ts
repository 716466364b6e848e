import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { writeFileAtomicAsync } from "../core/atomic-write.js";

/**
 * Whether `given` is the server's token (`<home>/token`), for every door that takes it: the API's
 * bearer token and the git port's Basic password. Both sides are hashed first, so the comparison
 * takes the same time whatever the given value's length and wherever it differs.
 */
export function isServerToken(given: string, token: string): boolean {
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return given !== "" && timingSafeEqual(digest(given), digest(token));
}

/**
 * The server's token (`<home>/token`, mode 0600): generated at the first start, checked by every
 * door (API, dashboard login, /metrics, git over HTTP), and rotatable while the server runs
 * (`baton token:rotate`): the new one is written to the file (atomically, so the CLI never reads
 * half of it) and the old one stops working at once.
 */
export class ServerToken {
  private readonly rotateListeners: Array<() => void> = [];

  private constructor(
    readonly path: string,
    private value: string,
  ) {}

  /** The token in `path`, or a new one written there (only its owner may read it). */
  static ensure(path: string): ServerToken {
    if (existsSync(path)) return new ServerToken(path, readFileSync(path, "utf8").trim());
    const token = newToken();
    writeFileSync(path, `${token}\n`, { mode: 0o600, flag: "wx" });
    return new ServerToken(path, token);
  }

  matches(given: string): boolean {
    return isServerToken(given, this.value);
  }

  /** Called after each rotation (the dashboard signs everyone out). */
  onRotate(listener: () => void): void {
    this.rotateListeners.push(listener);
  }

  async rotate(): Promise<void> {
    const next = newToken();
    await writeFileAtomicAsync(this.path, `${next}\n`, 0o600);
    this.value = next;
    for (const listener of this.rotateListeners) listener();
  }
}

const newToken = (): string => randomBytes(32).toString("hex");

import type { ResolvedConfig } from "../config/resolve.js";
import type { ReleaseRecord } from "../store/store.js";
import type { PipelineDeps } from "./pipeline.js";

/**
 * The `processes` step: replace the non-web process types (workers, clocks ...) with the new
 * Release's. A type marked singleton is stopped before its replacement starts, so two never run at
 * once; every other type starts its new instances first, so work never stops.
 */
export async function replaceProcesses(
  deps: PipelineDeps,
  release: ReleaseRecord,
  config: ResolvedConfig,
): Promise<Record<string, unknown>> {
  const { instances } = deps;
  const started: string[] = [];
  const stopped: string[] = [];
  const stopOld = async (type: string): Promise<void> => {
    const old = instances.list({ app: release.app, type }).filter((i) => i.version !== release.version);
    await Promise.all(old.map((i) => instances.stop(i.id)));
    stopped.push(...old.map((i) => i.id));
  };
  for (const proc of config.processes) {
    if (proc.name === "web") continue;
    if (proc.singleton) await stopOld(proc.name);
    for (let index = 1; index <= proc.quantity; index++) {
      const record = await instances.start({
        app: release.app,
        version: release.version,
        type: proc.name,
        index,
        command: proc.command,
        cwd: release.path,
      });
      instances.markRunning(record.id);
      instances.keepAlive(record.id);
      started.push(record.id);
    }
    if (!proc.singleton) await stopOld(proc.name);
  }
  // Types the new Procfile dropped (or scaled to zero above) stop too.
  const kept = new Set(config.processes.map((p) => p.name));
  for (const type of new Set(instances.list({ app: release.app }).map((i) => i.type))) {
    if (type !== "web" && !kept.has(type)) await stopOld(type);
  }
  return { started, stopped };
}

import { BatonError } from "../core/errors.js";
import type { ControlPlane } from "../deploy/control-plane.js";
import type { AppTraffic, TrafficSampler } from "../observe/traffic.js";

type TrafficHandler = (ctx: { params: string[] }) => Promise<unknown>;

/** A deploy in progress as the live views show it beside the traffic. */
export interface RunningDeploy {
  id: number;
  kind: string;
  phase: string | null;
  version: number | null;
  fromVersion: number | null;
}

export interface AppLive extends AppTraffic {
  currentVersion: number | null;
  deploy: RunningDeploy | null;
}

/**
 * The live numbers (`baton top`, the dashboard): the router's last second per app and Release,
 * with each app's live version and running deploy; and an app's last hour for the charts.
 */
export function trafficRoutes(
  plane: ControlPlane,
  sampler: TrafficSampler,
): Array<[method: string, pattern: RegExp, handler: TrafficHandler]> {
  const { store } = plane;
  const live = (name: string): AppLive => {
    const record = store.getApp(name);
    const traffic = sampler.latest()?.apps.find((a) => a.app === name);
    const [running] = store.listDeploys({ app: name, statuses: ["running"], limit: 1 });
    return {
      app: name,
      releases: [],
      held: 0,
      heldNow: 0,
      holdTimeouts: 0,
      active: null,
      canary: null,
      ...traffic,
      currentVersion: record?.currentVersion ?? null,
      deploy:
        running === undefined
          ? null
          : {
              id: running.id,
              kind: running.kind,
              phase: running.phase,
              version: running.version,
              fromVersion: running.fromVersion,
            },
    };
  };
  return [
    [
      "GET",
      /^\/v1\/traffic$/,
      async () => {
        const sample = sampler.latest();
        return {
          time: sample?.time ?? null,
          intervalMs: sample?.intervalMs ?? null,
          apps: store.listApps().map((a) => live(a.name)),
        };
      },
    ],
    [
      "GET",
      /^\/v1\/apps\/([^/]+)\/traffic$/,
      async ({ params: [name = ""] }) => {
        if (store.getApp(name) === undefined) throw new BatonError("BATON_NOT_FOUND", `app "${name}" does not exist`);
        return { live: live(name), history: sampler.history(name) };
      },
    ],
  ];
}

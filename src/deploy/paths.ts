import { join } from "node:path";

/** Where the control plane keeps each app's files under the baton home. */
export const appPaths = (home: string, app: string) => {
  const root = join(home, "apps", app);
  return {
    root,
    releases: join(root, "releases"),
    release: (version: number) => join(root, "releases", `v${version}`),
    logs: join(root, "logs"),
    instanceLog: (type: string, version: number, index: number) =>
      join(root, "logs", `${type}.${index}.v${version}.log`),
    deployLog: (deployId: number) => join(root, "logs", `deploy.${deployId}.log`),
  };
};

export const serverPaths = (home: string) => ({
  socket: join(home, "server.sock"),
  token: join(home, "token"),
  store: join(home, "baton.db"),
  pid: join(home, "server.pid"),
  serverLog: join(home, "server.log"),
  routerLog: join(home, "router.log"),
  /** The router's access log when `baton server --access-log` started it. */
  accessLog: join(home, "access.log"),
});

/** Names the router's Pool after the Release and the deploy that made it, unique per app. */
export const poolId = (app: string, version: number, deployId: number): string => `${app}-v${version}-d${deployId}`;

export const releaseName = (version: number): string => `v${version}`;

// The dashboard in a real browser (Debian's chromium, driven by playwright-core) against a real
// `baton server --http-port` with an app under load: a wrong token is refused, the right one signs
// in with an HttpOnly SameSite=Strict cookie, a deploy is watched step by step to done, the traffic
// split moves during a canary, and a rollback asked for with the button (and confirmed) completes.
// Screenshots go to test-artifacts/dashboard/ (the path is printed).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { LoadRun } from "../src/load/load.js";
import { freePort } from "../src/supervisor/ports.js";
import {
  type CliResult,
  cli,
  type DeployJson,
  explained,
  fixtureApp,
  note,
  parseJson,
  type ServerProc,
  startServer,
  stopEverything,
} from "./e2e-harness.js";
import { cleanup, http, tmpHome } from "./helpers.js";

const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/dashboard/", import.meta.url));
const CHROMIUM = process.env.BATON_CHROMIUM ?? "/usr/bin/chromium";
const APP = "shop";
const UI_TIMEOUT_MS = 90_000;

/** The flags a closed network needs: no background connections, no first-run, no sandbox as root. */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// Skipped on a developer's machine without chromium; in CI (.ci/run installs it) a missing browser
// fails the run instead of passing it silently.
const skip = existsSync(CHROMIUM) || process.env.CI ? false : `no chromium at ${CHROMIUM} (apt-get install chromium)`;

describe("dashboard in a browser", { skip }, () => {
  const home = tmpHome();
  const work = tmpHome();
  let server: ServerProc | undefined;
  let port = 0;
  let webPort = 0;
  let token = "";
  let browser: Browser | undefined;
  let page: Page;
  let load: LoadRun | undefined;
  let serial = 0;
  const shots: string[] = [];

  const base = () => `http://127.0.0.1:${webPort}`;
  const shot = async (name: string, target: Page = page): Promise<void> => {
    const path = join(ARTIFACTS, `${name}.png`);
    await target.screenshot({ path, fullPage: true });
    shots.push(path);
  };

  /** A copy of the fixture app with its VERSION, behaviour and baton section. */
  const variant = (label: string, behaviour: Record<string, unknown>, batonSection: Record<string, unknown>) => {
    return fixtureApp(join(work, `app-${++serial}-${label}`), label, behaviour, { baton: batonSection });
  };
  const deploy = (dir: string): Promise<CliResult> => cli(home, ["deploy", dir, "--app", APP, "--json"], 180_000);

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    port = await freePort();
    webPort = await freePort();
    server = await startServer(home, port, process.env, ["--http-port", String(webPort)]);
    token = readFileSync(join(home, "token"), "utf8").trim();
    const first = await deploy(variant("v1", {}, { bakeMs: 0 }));
    assert.equal(first.code, 0, first.stdout + first.stderr);
    load = new LoadRun({
      port,
      hostHeader: `${APP}.localhost`,
      connections: 3,
      maxDurationMs: 600_000,
      maxRequests: 2_000_000,
      requestTimeoutMs: 20_000,
      tagHeader: "x-version",
      requests: [{ path: "/" }, { path: "/slow?ms=20" }],
    }).start();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on("pageerror", (error) => note(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") note(`console error: ${message.text()}`);
    });
  });

  after(async () => {
    await browser?.close();
    await load?.stop();
    await stopEverything(home, server);
    await cleanup();
    if (shots.length > 0) process.stdout.write(`dashboard screenshots: ${ARTIFACTS} (${shots.length} files)\n`);
  });

  test(
    "a wrong token is refused: 401, no session, and the API and event stream stay closed",
    explained(async () => {
      const landing = await page.goto(`${base()}/`);
      assert.equal(new URL(page.url()).pathname, "/login");
      assert.equal(landing?.status(), 200);
      await page.fill("#token", "not-the-token");
      const [refused] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith("/login") && r.request().method() === "POST"),
        page.click("button[type=submit]"),
      ]);
      assert.equal(refused.status(), 401);
      await page.waitForSelector("text=That is not the server's token.");
      assert.deepEqual(await page.context().cookies(), []);
      await shot("01-login-refused");
      for (const path of ["/api/v1/apps", "/events"]) {
        const reply = await http(webPort, path);
        assert.equal(reply.status, 401, `${path} without a session`);
      }
    }),
  );

  test(
    "the token signs in: an HttpOnly SameSite=Strict session cookie, no token in any URL, security headers",
    explained(async () => {
      await page.fill("#token", token);
      const [response] = await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === "/" && r.request().method() === "GET"),
        page.click("button[type=submit]"),
      ]);
      await page.waitForSelector(`[data-app=${APP}]`);
      assert.equal(page.url(), `${base()}/`);
      const [cookie, ...more] = await page.context().cookies();
      assert.equal(more.length, 0);
      assert.equal(cookie?.name, "baton_session");
      assert.equal(cookie?.httpOnly, true);
      assert.equal(cookie?.sameSite, "Strict");
      assert.notEqual(cookie?.value, token);
      const headers = response.headers();
      assert.match(headers["content-security-policy"] ?? "", /script-src 'self'/);
      assert.match(headers["content-security-policy"] ?? "", /frame-ancestors 'none'/);
      assert.equal(headers["x-frame-options"], "DENY");
      assert.equal(headers["x-content-type-options"], "nosniff");
      assert.equal(headers["referrer-policy"], "no-referrer");
      await page.waitForSelector("#connection[data-state=live]", { timeout: 10_000 });
      await page.waitForFunction(
        (app) => /req\/s/.test(document.querySelector(`[data-app=${app}] .figures`)?.textContent ?? ""),
        APP,
      );
      await shot("02-apps");
      // A change must come from the dashboard's own page: another Origin is refused even with the cookie.
      const foreign = await http(webPort, `/api/v1/apps/${APP}/rollback?wait=0`, {
        method: "POST",
        headers: {
          cookie: `${cookie?.name}=${cookie?.value}`,
          origin: "http://evil.example",
          "content-type": "application/json",
        },
        body: "{}",
      });
      assert.equal(foreign.status, 403);
      assert.equal(JSON.parse(foreign.body).error.code, "BATON_FORBIDDEN");
    }),
  );

  test(
    "a deploy is watched live, step by step, to done",
    explained(async () => {
      await page.click(`[data-app=${APP}]`);
      await page.waitForSelector('[data-testid=deploy-status]:has-text("succeeded")');
      // v2 boots slowly, so its boot step is seen running before it is seen done.
      const running = deploy(variant("v2", { bootDelayMs: 2_000 }, { bakeMs: 0 }));
      await page.waitForSelector("[data-step=boot][data-status=running]", { timeout: UI_TIMEOUT_MS });
      await page.waitForSelector("h2:has-text('Deploy 2 v2')");
      await shot("03-deploy-running");
      await page.waitForSelector('[data-testid=deploy-status]:has-text("succeeded")', { timeout: UI_TIMEOUT_MS });
      await page.waitForSelector("[data-testid=live-release]:has-text('live: v2')", { timeout: 10_000 });
      const steps = await page.$$eval("[data-step]", (els) => els.map((e) => (e as HTMLElement).dataset.step));
      for (const step of ["stage", "boot", "warmup", "switch", "drain", "stop", "cleanup"])
        assert.ok(steps.includes(step), step);
      const log = (await page.textContent("[data-testid=log]")) ?? "";
      assert.match(log, /v2 is live/);
      const result = await running;
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.equal(parseJson<DeployJson>(result).status, "succeeded");
      await shot("04-deploy-done");
    }),
  );

  test(
    "the traffic split moves during a canary: both releases serve, then the new one takes everything",
    explained(async () => {
      const canary = deploy(
        variant("v3", {}, { strategy: "canary", canary: { steps: [{ weight: 30, bakeMs: 8_000 }] }, bakeMs: 0 }),
      );
      await page.waitForSelector("text=Canary: the router sends 30% of new clients to v3", { timeout: UI_TIMEOUT_MS });
      // Measured from the router's counts: v3 has a share, and v2 still has the rest.
      await page.waitForFunction(
        () => {
          const share = (r: string) =>
            Number(
              (document.querySelector(`[data-testid=split] [data-release=${r}]`) as HTMLElement | null)?.dataset
                .share ?? 0,
            );
          return share("v3") > 0 && share("v2") > 0;
        },
        undefined,
        { timeout: 30_000 },
      );
      await page.waitForSelector("[data-step=canary][data-status=running]");
      await shot("05-canary");
      await page.waitForSelector('[data-testid=split] [data-release=v3][data-share="100"]', { timeout: UI_TIMEOUT_MS });
      await page.waitForSelector('[data-testid=deploy-status]:has-text("succeeded")', { timeout: UI_TIMEOUT_MS });
      const detail = (await page.textContent("[data-step=canary]")) ?? "";
      assert.match(detail, /30% → served/);
      const result = await canary;
      assert.equal(parseJson<DeployJson>(result).status, "succeeded", result.stdout);
      await shot("06-canary-done");
    }),
  );

  test(
    "rollback asks first: cancel does nothing, confirm rolls back and the dashboard shows it complete",
    explained(async () => {
      const deploysBefore = parseJson<unknown[]>(await cli(home, ["deploys", "--app", APP, "--json"], 20_000)).length;
      await page.click('[data-rollback="2"]');
      await page.waitForSelector("dialog#confirm[open]");
      assert.match((await page.textContent("#confirm-title")) ?? "", /Roll shop back to v2\?/);
      await shot("07-rollback-confirm");
      await page.click("dialog#confirm button[value=cancel]");
      await page.waitForSelector("dialog#confirm[open]", { state: "detached" });
      assert.equal(
        parseJson<unknown[]>(await cli(home, ["deploys", "--app", APP, "--json"], 20_000)).length,
        deploysBefore,
      );

      await page.click('[data-rollback="2"]');
      await page.waitForSelector("dialog#confirm[open]");
      await page.click("#confirm-ok");
      await page.waitForSelector("h2:has-text('Rollback')", { timeout: 30_000 });
      await page.waitForSelector('[data-testid=deploy-status]:has-text("succeeded")', { timeout: UI_TIMEOUT_MS });
      await page.waitForSelector("[data-testid=live-release]:has-text('live: v4')", { timeout: 10_000 });
      await shot("08-rolled-back");
      const status = parseJson<{ currentVersion: number }>(await cli(home, ["status", "--app", APP, "--json"], 20_000));
      assert.equal(status.currentVersion, 4);
      // v4 is v2's code again: the router serves what v2 served.
      const reply = await http(port, "/", { headers: { host: `${APP}.localhost` } });
      assert.equal(reply.headers["x-version"], "v2");
      const audit = (await cli(home, ["audit", "--app", APP], 20_000)).stdout;
      assert.match(audit, /dashboard@127\.0\.0\.1\s+POST \/v1\/apps\/shop\/rollback/);
      const releases = (await page.textContent(".releases")) ?? "";
      assert.match(releases, /v4/);
    }),
  );

  test(
    "release history shows which config keys changed, never their values",
    explained(async () => {
      const secret = "s3cr3t-value-never-shown";
      const set = await cli(home, ["config:set", "--app", APP, `PAYMENT_KEY=${secret}`, "--json"], 120_000);
      assert.equal(set.code, 0, set.stdout + set.stderr);
      await page.waitForSelector('tr[data-version="5"] .key.added:has-text("+PAYMENT_KEY")', {
        timeout: UI_TIMEOUT_MS,
      });
      const changed = await cli(
        home,
        ["config:set", "--app", APP, "PAYMENT_KEY=rotated", "LOG_LEVEL=debug", "--json"],
        120_000,
      );
      assert.equal(changed.code, 0, changed.stdout + changed.stderr);
      await page.waitForSelector('tr[data-version="6"] .key.changed:has-text("~PAYMENT_KEY")', {
        timeout: UI_TIMEOUT_MS,
      });
      await page.waitForSelector('tr[data-version="6"] .key.added:has-text("+LOG_LEVEL")');
      const html = await page.content();
      assert.ok(!html.includes(secret) && !html.includes("rotated"), "a config value reached the page");
      await shot("09-config-keys");
    }),
  );

  test(
    "readable on a phone: nothing wider than the screen",
    explained(async () => {
      const phone = await (browser as Browser).newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
      await phone.context().addCookies(await page.context().cookies());
      await phone.goto(`${base()}/#/apps/${APP}`);
      await phone.waitForSelector("[data-testid=live-release]");
      await phone.waitForSelector("[data-testid=split] .part");
      const widths = await phone.evaluate(() => ({ page: document.documentElement.scrollWidth, screen: innerWidth }));
      assert.ok(widths.page <= widths.screen, `page ${widths.page}px wide on a ${widths.screen}px screen`);
      await shot("10-phone", phone);
      await phone.close();
    }),
  );
});

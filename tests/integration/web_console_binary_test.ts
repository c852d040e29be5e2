/**
 * The web console works from one process and from the compiled binary: `/` and every asset the
 * page loads (its own script, console module and style sheet, xterm.js, noVNC's module tree) are
 * served with their content types, `nosniff` and the console's Content-Security-Policy, and
 * are the bytes the source serves. The binary is built by `deno compile` with the `compile`
 * task's arguments into the test's temporary folder; `deno compile` needs its runtime
 * (`denort`), which it downloads unless `DENORT_BIN` names one, so the binary test is skipped
 * where neither is possible. In chromium, the binary's console logs in, shows the host page and
 * loads xterm.js and noVNC.
 */

import assert from "node:assert/strict";
import type { Browser } from "playwright-core";
import { compileArgs } from "../../src/build/compile.ts";
import { handleWebConsole } from "../../src/api/web/web_console.ts";
import { VERSION } from "../../src/model/version.ts";
import { exists, findCommand, repoDir, testIf } from "../support/environment.ts";
import { removeServiceDirs, serviceDirs } from "../support/service_process.ts";
import { type ServedAsset, walkConsoleAssets } from "../support/web_assets.ts";
import {
  launchChromium,
  login,
  READ_WRITE_TOKEN,
  SCREENSHOTS,
  seriousViolations,
  startWebService,
  waitText,
} from "../support/web_browser.ts";

/** The assets the console cannot work without. */
const REQUIRED = [
  "/ui/app.js",
  "/ui/console.js",
  "/ui/style.css",
  "/ui/vendor/xterm.mjs",
  "/ui/vendor/xterm.css",
  "/ui/vendor/novnc/core/rfb.js",
];
/** noVNC's modules the display needs at least (its package has about forty). */
const NOVNC_MODULES_MIN = 20;

/** Where `deno compile` finds its runtime without a download, or undefined. */
function denortRuntime(): string | undefined {
  const named = Deno.env.get("DENORT_BIN");
  if (named !== undefined && named !== "") return exists(named) ? named : undefined;
  const home = Deno.env.get("HOME") ?? "";
  const denoDir = Deno.env.get("DENO_DIR") || `${home}/.cache/deno`;
  const cached = `${denoDir}/dl/release/v${Deno.version.deno}/denort-x86_64-unknown-linux-gnu.zip`;
  return exists(cached) ? cached : undefined;
}

const COMPILE_SKIP = denortRuntime() === undefined
  ? "deno compile needs its runtime (denort): set DENORT_BIN; its download is not reachable here"
  : undefined;

/** Checks a walk found what the console needs, each the same bytes the source serves. */
async function assertComplete(assets: Map<string, ServedAsset>): Promise<void> {
  for (const path of REQUIRED) assert.ok(assets.has(path), `${path} was not reached`);
  const novnc = [...assets.keys()].filter((path) => path.startsWith("/ui/vendor/novnc/"));
  assert.ok(novnc.length >= NOVNC_MODULES_MIN, `only ${novnc.length} noVNC modules`);
  for (const [path, asset] of assets) {
    if (path === "/") continue;
    const source = await handleWebConsole(new Request(`http://evirt${path}`), {
      kind: "unix",
      role: "read-only",
    });
    assert.equal(asset.body, await source.text(), `${path} differs from the source's`);
  }
}

Deno.test("web console from source: the page and every asset it loads, with types and policy", async () => {
  const dirs = await serviceDirs();
  const { service, origin } = await startWebService(dirs);
  try {
    await assertComplete(await walkConsoleAssets(origin));
  } finally {
    await service.stop("SIGTERM");
    await removeServiceDirs(dirs);
  }
});

testIf(
  "web console from the compiled binary: the page and every asset it loads, and in chromium the host page with xterm.js and noVNC",
  COMPILE_SKIP,
  async () => {
    const folder = await Deno.makeTempDir({ prefix: "evirt-binary-" });
    const dirs = await serviceDirs();
    let stopService: (() => Promise<unknown>) | undefined;
    let browser: Browser | undefined;
    try {
      const binary = `${folder}/evirt`;
      const startedMs = performance.now();
      const compiled = await new Deno.Command(Deno.execPath(), {
        args: compileArgs(binary),
        cwd: repoDir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(compiled.success, new TextDecoder().decode(compiled.stderr));
      console.error(`compiled in ${Math.round(performance.now() - startedMs)} ms`);
      const version = await new Deno.Command(binary, { args: ["--version"] }).output();
      assert.equal(new TextDecoder().decode(version.stdout).trim(), VERSION);

      const { service, origin } = await startWebService(dirs, [binary, "daemon"]);
      stopService = () => service.stop("SIGTERM");
      await assertComplete(await walkConsoleAssets(origin));
      if (findCommand("chromium") === undefined) {
        console.error("skip: the browser part: needs chromium");
        return;
      }
      await service.client.define({
        xml: "<domain type='test'><name>compiled</name><memory unit='MiB'>64</memory>" +
          "<vcpu>1</vcpu><os><type>hvm</type></os><devices/></domain>",
      });
      browser = await launchChromium();
      const page = await login(browser, origin, READ_WRITE_TOKEN);
      await waitText(page, 'tr[data-name="compiled"] [data-field=state]', "shut off");
      await waitText(page, '[data-summary="sse"]', "1");
      // The consoles' modules load under the page's policy.
      const loaded = await page.evaluate(async () => {
        const consoles = await import("/ui/console.js");
        const novnc = await import("/ui/vendor/novnc/core/rfb.js");
        return [typeof consoles.openSerialConsole, typeof novnc.default];
      });
      assert.deepEqual(loaded, ["function", "function"]);
      assert.equal(await page.locator("link[data-xterm]").count(), 1);
      await page.screenshot({ path: `${SCREENSHOTS}/binary-host.png`, fullPage: true });
      assert.deepEqual(await seriousViolations(page), []);
    } finally {
      await browser?.close();
      await stopService?.();
      await removeServiceDirs(dirs);
      await Deno.remove(folder, { recursive: true });
    }
  },
);

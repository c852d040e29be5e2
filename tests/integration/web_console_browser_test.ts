/**
 * The web console in a real browser: Playwright (`playwright-core`, no bundled browsers) drives
 * Debian's `chromium` against the real service listening on a loopback TCP port with a tokens
 * file, over test-hypervisor domains; axe-core checks each page for serious violations.
 * Screenshots go to `.cache/screenshots/`.
 */

import assert from "node:assert/strict";
import axe from "axe-core";
import { type Browser, chromium, type Page } from "playwright-core";
import { CSRF_HEADER } from "../../src/api/web/web_sessions.ts";
import { CONTENT_SECURITY_POLICY } from "../../src/api/web/web_console.ts";
import { runEvirt } from "../support/cli_process.ts";
import { cacheDir, findCommand, missing, testIf } from "../support/environment.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";

const READ_WRITE_TOKEN = "rw-web-console-0123456789abcdef";
const READ_ONLY_TOKEN = "ro-web-console-0123456789abcdef";
const SCREENSHOTS = `${cacheDir}/screenshots`;
/** Longest a page may take to show what the test waits for, in ms. */
const PAGE_WAIT_MS = 15_000;

/** Bytes of the disk file web-b names (sparse). */
const DISK_BYTES = 64 * 1024 * 1024;

function domainXml(name: string, diskPath?: string): string {
  const disk = diskPath === undefined ? "" : `<disk type='file' device='disk'>` +
    `<source file='${diskPath}'/><target dev='vda' bus='virtio'/></disk>`;
  return `<domain type='test'><name>${name}</name><memory unit='MiB'>256</memory>` +
    `<vcpu>1</vcpu><os><type>hvm</type></os><devices>${disk}</devices></domain>`;
}

/**
 * axe-core's serious and critical violations on the page as it stands (the library is evaluated
 * through the DevTools protocol, which the page's Content-Security-Policy does not govern).
 */
async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(axe.source);
  const found = await page.evaluate(
    "axe.run(document).then((r) => ({ passed: r.passes.length, serious: r.violations" +
      ".filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id + " +
      "': ' + v.help + ' (' + v.nodes.map((n) => n.target.join(' ')).join(', ') + ')') }))",
  ) as { passed: number; serious: string[] };
  // The check ran: axe found rules the page passes.
  assert.ok(found.passed > 10, `axe passed only ${found.passed} rules`);
  return found.serious;
}

/** The TCP port the service logged it listens on. */
function tcpPortOf(service: ServiceProcess): number {
  const match = /listening on http:\/\/127\.0\.0\.1:(\d+) \(bearer tokens\)/.exec(service.log());
  assert.ok(match !== null, `no TCP listener in the service's log:\n${service.log()}`);
  return Number(match[1]);
}

async function login(browser: Browser, origin: string, token: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(PAGE_WAIT_MS);
  const first = await page.goto(`${origin}/`);
  assert.equal(first?.headers()["content-security-policy"], CONTENT_SECURITY_POLICY);
  await page.waitForSelector("#login");
  await page.screenshot({ path: `${SCREENSHOTS}/login.png` });
  assert.deepEqual(await seriousViolations(page), []);
  await page.fill("#token", token);
  await Promise.all([page.waitForURL(`${origin}/`), page.click("#login button[type=submit]")]);
  await page.waitForSelector("body[data-ready=host]");
  return page;
}

/** Waits until the text of `selector` is `text`. */
async function waitText(page: Page, selector: string, text: string): Promise<void> {
  // Not `waitForFunction`: the console's Content-Security-Policy forbids evaluating strings.
  const exact = new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  await page.locator(selector, { hasText: exact }).waitFor({ timeout: PAGE_WAIT_MS });
}

const chromiumPath = findCommand("chromium");

testIf(
  "web console in chromium: live list, actions with history, errors, read-only and CSRF refusals, axe-core",
  missing("chromium"),
  async () => {
    const dirs = await serviceDirs();
    const tokensPath = `${dirs.stateDir}/../tokens`;
    await Deno.writeTextFile(
      tokensPath,
      `read-write ${READ_WRITE_TOKEN}\nread-only ${READ_ONLY_TOKEN}\n`,
    );
    await Deno.chmod(tokensPath, 0o600);
    await Deno.mkdir(SCREENSHOTS, { recursive: true });
    const service = await startServiceProcess(dirs, {
      EVIRT_LISTEN: "127.0.0.1:0",
      EVIRT_TOKENS_FILE: tokensPath,
    });
    let browser: Browser | undefined;
    try {
      const diskPath = `${dirs.stateDir}/../web-b.img`;
      await Deno.writeFile(diskPath, new Uint8Array(0));
      await Deno.truncate(diskPath, DISK_BYTES);
      await service.client.define({ xml: domainXml("web-a") });
      await service.client.define({ xml: domainXml("web-b", diskPath) });
      const origin = `http://127.0.0.1:${tcpPortOf(service)}`;
      browser = await chromium.launch({
        executablePath: chromiumPath,
        headless: true,
        // Chromium's sandbox cannot start as root (CI runs as root).
        args: Deno.uid() === 0 ? ["--no-sandbox"] : [],
      });

      // Login: the cookie is HttpOnly and SameSite=Strict.
      const page = await login(browser, origin, READ_WRITE_TOKEN);
      const [cookie] = await page.context().cookies();
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, "Strict");
      await waitText(page, 'tr[data-name="web-a"] [data-field=state]', "shut off");
      await waitText(page, '#counts [data-state="shut off"]', "2");

      // The list follows the event stream: a start from the CLI shows without a reload.
      const started = await runEvirt(["start", "web-a"], {
        ...service.env,
        EVIRT_DEFAULT_URI: "evirt:///system",
      });
      assert.equal(started.code, 0, started.stderr);
      await waitText(page, 'tr[data-name="web-a"] [data-field=state]', "running");
      await waitText(page, 'tr[data-name="web-a"] [data-field=reason]', "booted");
      await waitText(page, '#counts [data-state="running"]', "1");
      await page.screenshot({ path: `${SCREENSHOTS}/host.png`, fullPage: true });
      assert.deepEqual(await seriousViolations(page), []);

      // A start from the domain page changes its state, and the event shows in its history.
      await page.goto(`${origin}/#/domain/web-b`);
      await page.waitForSelector("body[data-ready=domain]");
      await page.waitForSelector('#history tr[data-fact="domain.defined"]');
      // Block info per disk, as the API answers it (the test hypervisor's figures).
      const block = await service.client.blockInfo("web-b", "vda");
      const cells = [block.capacityBytes, block.allocationBytes, block.physicalBytes];
      for (const [index, bytes] of cells.entries()) {
        await waitText(page, `#disks tr[data-target="vda"] td:nth-child(${index + 3})`, `${bytes}`);
      }
      await page.click('button[data-action="start"]');
      await waitText(page, "#summary [data-field=state]", "running");
      await page.waitForSelector('#history tr[data-fact="domain.started"]');
      assert.equal((await service.client.state("web-b")).stateName, "running");
      assert.match(await page.textContent("#xml") ?? "", /<name>web-b<\/name>/);

      // A refused action shows libvirt's code and message.
      await page.click('button[data-action="start"]');
      await page.waitForSelector("#error[data-code='55']");
      assert.match(await page.textContent("#error") ?? "", /domain is already running/);
      await page.screenshot({ path: `${SCREENSHOTS}/domain.png`, fullPage: true });
      assert.deepEqual(await seriousViolations(page), []);

      // A mutating request with the cookie but without the session's CSRF header is refused.
      const forged = await page.evaluate(async () => {
        const response = await fetch("/v1/domains/web-b/actions/destroy", { method: "POST" });
        return { status: response.status, body: await response.json() };
      });
      assert.equal(forged.status, 403);
      assert.equal(forged.body.error.code, 29);
      assert.equal((await service.client.state("web-b")).stateName, "running");
      // So is one with a wrong token.
      const wrong = await page.evaluate(async (header) => {
        const response = await fetch("/v1/domains/web-b/actions/destroy", {
          method: "POST",
          headers: { [header]: "not-the-token" },
        });
        return response.status;
      }, CSRF_HEADER);
      assert.equal(wrong, 403);
      assert.equal((await service.client.state("web-b")).stateName, "running");

      // A read-only session sees no action buttons and the API refuses it anyway.
      const readOnly = await login(browser, origin, READ_ONLY_TOKEN);
      await readOnly.goto(`${origin}/#/domain/web-a`);
      await readOnly.waitForSelector("body[data-ready=domain]");
      await waitText(readOnly, "#summary [data-field=state]", "running");
      assert.equal(await readOnly.locator("button[data-action]").count(), 0);
      const refused = await readOnly.evaluate(async (header) => {
        const session = await (await fetch("/ui/session")).json();
        const response = await fetch("/v1/domains/web-a/actions/destroy", {
          method: "POST",
          headers: { [header]: session.csrf },
        });
        return { status: response.status, body: await response.json() };
      }, CSRF_HEADER);
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error.code, 29);
      assert.match(refused.body.error.message, /read only access prevents virDomainDestroy/);
      await readOnly.screenshot({ path: `${SCREENSHOTS}/domain-read-only.png`, fullPage: true });
      assert.deepEqual(await seriousViolations(readOnly), []);
      // The check can fail: an input without a label is one axe calls critical.
      await readOnly.evaluate(
        "document.getElementById('main').append(document.createElement('input'))",
      );
      assert.match((await seriousViolations(readOnly)).join("\n"), /^label: /m);
    } finally {
      await browser?.close();
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

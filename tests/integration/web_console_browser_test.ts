/**
 * The web console in a real browser: Playwright (`playwright-core`, no bundled browsers) drives
 * Debian's `chromium` against the real service listening on a loopback TCP port with a tokens
 * file, over test-hypervisor domains; axe-core checks each page for serious violations.
 * Screenshots go to `.cache/screenshots/`.
 */

import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import type { ListDomainsFilter } from "../../src/client/client.ts";
import { CSRF_HEADER } from "../../src/api/web/web_sessions.ts";
import { runEvirt } from "../support/cli_process.ts";
import { missing, testIf } from "../support/environment.ts";
import { removeServiceDirs, serviceDirs } from "../support/service_process.ts";
import {
  launchChromium,
  login,
  READ_ONLY_TOKEN,
  READ_WRITE_TOKEN,
  SCREENSHOTS,
  seriousViolations,
  startWebService,
  waitText,
} from "../support/web_browser.ts";

/** Bytes of the disk file web-b names (sparse). */
const DISK_BYTES = 64 * 1024 * 1024;

function domainXml(name: string, diskPath?: string): string {
  const disk = diskPath === undefined ? "" : `<disk type='file' device='disk'>` +
    `<source file='${diskPath}'/><target dev='vda' bus='virtio'/></disk>`;
  return `<domain type='test'><name>${name}</name><memory unit='MiB'>256</memory>` +
    `<vcpu>1</vcpu><os><type>hvm</type></os><devices>${disk}</devices></domain>`;
}

/** Toggles one of the host page's list filters and waits for the list it names. */
async function toggleFilter(page: Page, name: string): Promise<void> {
  const form = await page.$("#filters");
  await page.click(`#filter-${name}`);
  await form?.waitForElementState("hidden");
  await page.waitForSelector("body[data-ready=host]");
}

/** The names the host page lists, sorted. */
async function shownNames(page: Page): Promise<string[]> {
  const names = [];
  for (const row of await page.locator("#domains tr").all()) {
    names.push(await row.getAttribute("data-name") ?? "");
  }
  return names.sort();
}

/** The names the API lists with `filter`, sorted. */
async function listedNames(
  client: { listDomains(filter: ListDomainsFilter): Promise<{ name: string }[]> },
  filter: ListDomainsFilter,
): Promise<string[]> {
  return (await client.listDomains(filter)).map((domain) => domain.name).sort();
}

testIf(
  "web console in chromium: live list, list filters, autostart switch, actions with history, errors, read-only and CSRF refusals, axe-core",
  missing("chromium"),
  async () => {
    const dirs = await serviceDirs();
    const { service, origin } = await startWebService(dirs);
    let browser: Browser | undefined;
    try {
      const diskPath = `${dirs.stateDir}/../web-b.img`;
      await Deno.writeFile(diskPath, new Uint8Array(0));
      await Deno.truncate(diskPath, DISK_BYTES);
      await service.client.define({ xml: domainXml("web-a") });
      await service.client.define({ xml: domainXml("web-b", diskPath) });
      browser = await launchChromium();

      // Login: the cookie is HttpOnly and SameSite=Strict.
      const page = await login(browser, origin, READ_WRITE_TOKEN, async (loginPage) => {
        await loginPage.screenshot({ path: `${SCREENSHOTS}/login.png` });
      });
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

      // virsh list's filters narrow the list as the API's list filters do.
      await toggleFilter(page, "running");
      assert.deepEqual(await shownNames(page), ["web-a"]);
      assert.deepEqual(await listedNames(service.client, { running: true }), ["web-a"]);
      await toggleFilter(page, "shutoff");
      assert.match(page.url(), /#\/\?filter=running,shutoff$/);
      assert.deepEqual(await shownNames(page), ["web-a", "web-b"]);
      await toggleFilter(page, "running");
      await toggleFilter(page, "shutoff");
      await toggleFilter(page, "inactive");
      assert.deepEqual(await shownNames(page), ["web-b"]);
      assert.deepEqual(await listedNames(service.client, { inactive: true }), ["web-b"]);
      await toggleFilter(page, "autostart");
      assert.deepEqual(await shownNames(page), []);
      await toggleFilter(page, "inactive");
      assert.deepEqual(await shownNames(page), []);

      // The autostart switch: a forged PUT (no CSRF header) is refused, the page's one is not,
      // and the filtered list follows autostart changes made elsewhere.
      const forgedAutostart = await page.evaluate(async () => {
        const response = await fetch("/v1/domains/web-b/autostart", {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ autostart: true }),
        });
        return response.status;
      });
      assert.equal(forgedAutostart, 403);
      assert.equal((await service.client.info("web-b")).autostart, false);
      await toggleFilter(page, "autostart");
      await page.click('input[data-autostart="web-b"]');
      await page.waitForSelector('tr[data-name="web-b"] input[data-autostart]:checked');
      assert.equal((await service.client.info("web-b")).autostart, true);
      await page.goto(`${origin}/#/?filter=autostart`);
      await page.waitForSelector("#filter-autostart:checked");
      await page.waitForSelector("body[data-ready=host]");
      assert.deepEqual(await shownNames(page), ["web-b"]);
      await service.client.setAutostart("web-a", true);
      await page.waitForSelector('tr[data-name="web-a"] input[data-autostart]:checked');
      assert.deepEqual(await listedNames(service.client, { autostart: true }), ["web-a", "web-b"]);
      assert.deepEqual(await seriousViolations(page), []);
      await page.screenshot({ path: `${SCREENSHOTS}/host-filtered.png`, fullPage: true });
      await page.click('input[data-autostart="web-b"]');
      await page.locator('tr[data-name="web-b"]').waitFor({ state: "detached" });
      assert.equal((await service.client.info("web-b")).autostart, false);
      await service.client.setAutostart("web-a", false);
      await page.locator('tr[data-name="web-a"]').waitFor({ state: "detached" });
      await toggleFilter(page, "autostart");
      assert.deepEqual(await shownNames(page), ["web-a", "web-b"]);

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

      // Define from pasted XML: libvirt's error is shown with its location, nothing is defined.
      await page.goto(`${origin}/#/`);
      await page.waitForSelector("body[data-ready=host]");
      await page.fill(
        "#define-xml",
        domainXml("web-c").replace("<memory unit='MiB'>256</memory>", "<memory>lots</memory>"),
      );
      await page.click("#define button[type=submit]");
      await waitText(page, "#define-status", "not defined");
      assert.match(await page.getAttribute("#error", "data-code") ?? "", /^\d+$/);
      assert.match(await page.textContent("#error [data-field=where]") ?? "", /\/domain\/memory/);
      await page.screenshot({ path: `${SCREENSHOTS}/define-error.png`, fullPage: true });
      assert.equal(
        (await service.client.listDomains()).some((domain) => domain.name === "web-c"),
        false,
      );
      await page.fill("#define-xml", domainXml("web-c"));
      await page.click("#define button[type=submit]");
      await waitText(page, "#define-status", "defined web-c");
      await waitText(page, 'tr[data-name="web-c"] [data-field=state]', "shut off");
      // Undefine asks first; confirmed, the domain is gone and the list follows.
      await page.goto(`${origin}/#/domain/web-c`);
      await page.waitForSelector("body[data-ready=domain]");
      await page.click('button[data-action="undefine"]');
      await page.waitForSelector('button[data-confirm="undefine"]');
      assert.deepEqual(await seriousViolations(page), []);
      await page.click('button[data-confirm="cancel"]');
      assert.equal(await page.locator('button[data-confirm="undefine"]').count(), 0);
      await page.click('button[data-action="undefine"]');
      await page.click('button[data-confirm="undefine"]');
      await page.waitForSelector("body[data-ready=host]");
      await page.locator('tr[data-name="web-c"]').waitFor({ state: "detached" });
      assert.equal(
        (await service.client.listDomains()).some((domain) => domain.name === "web-c"),
        false,
      );

      // A read-only session sees no action buttons and the API refuses it anyway.
      const readOnly = await login(browser, origin, READ_ONLY_TOKEN);
      await waitText(readOnly, 'tr[data-name="web-a"] [data-field=autostart]', "no");
      assert.equal(await readOnly.locator("input[data-autostart]").count(), 0);
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

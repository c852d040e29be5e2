/**
 * The web console's host summary and long actions in a real browser (Debian's `chromium` driven
 * by `playwright-core`, against the real service over test-hypervisor domains): the host page's
 * log position and subscriber counts follow the service (the counts pushed on its event stream,
 * no summary read); start and shutdown show their progress;
 * a shutdown the guest ignores ends in libvirt's error 68 with destroy offered. axe-core checks
 * each state shown; screenshots go to `.cache/screenshots/`.
 */

import assert from "node:assert/strict";
import type { Browser } from "playwright-core";
import { missing, testIf } from "../support/environment.ts";
import { removeServiceDirs, serviceDirs } from "../support/service_process.ts";
import {
  launchChromium,
  login,
  READ_WRITE_TOKEN,
  SCREENSHOTS,
  seriousViolations,
  startWebService,
  waitText,
} from "../support/web_browser.ts";

/** A test-hypervisor domain; `onPoweroff` restart makes its guest reboot when asked to shut down. */
function domainXml(name: string, onPoweroff = "destroy"): string {
  return `<domain type='test'><name>${name}</name><memory unit='MiB'>256</memory>` +
    `<vcpu>1</vcpu><os><type>hvm</type></os><on_poweroff>${onPoweroff}</on_poweroff>` +
    `<devices/></domain>`;
}

/** The shutdown wait the test asks for, in seconds: the ignored shutdown runs this long. */
const SHUTDOWN_WAIT_S = 2;

testIf(
  "web console in chromium: host page log position and subscribers, start and shutdown progress, a shutdown timeout offering destroy, axe-core",
  missing("chromium"),
  async () => {
    const dirs = await serviceDirs();
    const { service, origin } = await startWebService(dirs);
    let browser: Browser | undefined;
    try {
      await service.client.define({ xml: domainXml("calm") });
      await service.client.define({ xml: domainXml("stubborn", "restart") });
      browser = await launchChromium();
      // The counts are pushed on the page's own event stream: from the login on, the page never
      // asks for them.
      const summaryReads: string[] = [];
      const page = await login(browser, origin, READ_WRITE_TOKEN, (loginPage) => {
        loginPage.on("request", (request) => {
          const { pathname } = new URL(request.url());
          if (pathname === "/v1/host/summary") summaryReads.push(pathname);
        });
        return Promise.resolve();
      });

      // The host page shows the log's position and who follows the stream: the page itself.
      const { log } = await service.client.hostSummary();
      await waitText(page, '[data-summary="position"]', `${log.position}`);
      await waitText(page, '[data-summary="oldestPosition"]', `${log.oldestPosition}`);
      await waitText(page, '[data-summary="sse"]', "1");
      await waitText(page, '[data-summary="websocket"]', "0");
      await waitText(page, '[data-summary="rpc"]', "0");
      await waitText(page, '[data-summary="fleet"]', "0");
      // A fact moves the position at once, from the page's own stream.
      await service.client.action("calm", "start");
      const started = await service.client.hostSummary();
      assert.ok(started.log.position > log.position);
      await waitText(page, '[data-summary="position"]', `${started.log.position}`);
      // A second subscriber (a second page) shows as it comes and goes: pushed to the page, which
      // reads no summary (it re-read one every 5 s before).
      const second = await page.context().newPage();
      await second.goto(`${origin}/`);
      await second.waitForSelector("body[data-ready=host]");
      await waitText(page, '[data-summary="sse"]', "2");
      assert.equal((await service.client.hostSummary()).subscribers.sse, 2);
      await second.close();
      await waitText(page, '[data-summary="sse"]', "1");
      assert.deepEqual(summaryReads, [], "the page polled the host summary");
      await page.screenshot({ path: `${SCREENSHOTS}/host-summary.png`, fullPage: true });
      assert.deepEqual(await seriousViolations(page), []);

      // A shutdown the guest obeys: progress, then done.
      await page.goto(`${origin}/#/domain/calm`);
      await page.waitForSelector("body[data-ready=domain]");
      await waitText(page, "#summary [data-field=state]", "running");
      await page.click('button[data-action="shutdown"]');
      await page.waitForSelector("#status:not([data-progress])");
      assert.match(
        await page.textContent("#status") ?? "",
        /^shutdown done: shut off after \d+ s$/,
      );
      await waitText(page, "#summary [data-field=state]", "shut off");
      assert.equal((await service.client.state("calm")).stateName, "shut off");

      // Start: done once running.
      await page.click('button[data-action="start"]');
      await page.waitForSelector("#status:not([data-progress])");
      assert.match(await page.textContent("#status") ?? "", /^start done: running after \d+ s$/);
      await waitText(page, "#summary [data-field=state]", "running");

      // A shutdown the guest answers by rebooting: "shutting down…" with the elapsed time and
      // the steps from the stream, then libvirt's error 68, and destroy offered.
      await service.client.action("stubborn", "start");
      await page.goto(`${origin}/#/domain/stubborn`);
      await page.waitForSelector("body[data-ready=domain]");
      await waitText(page, "#summary [data-field=state]", "running");
      await page.fill("#shutdown-wait", `${SHUTDOWN_WAIT_S}`);
      await page.click('button[data-action="shutdown"]');
      await page.waitForSelector("#status[data-progress=shutdown]");
      assert.match(await page.textContent("#status") ?? "", /^shutting down… \d+ s/);
      await page.locator("#status", { hasText: /^shutting down… [1-9]\d* s/ }).waitFor();
      await page.screenshot({ path: `${SCREENSHOTS}/shutdown-progress.png`, fullPage: true });
      await page.waitForSelector("#error[data-code='68']");
      assert.match(await page.textContent("#error") ?? "", /OPERATION_TIMEOUT/);
      assert.match(
        await page.textContent("#error") ?? "",
        new RegExp(`did not shut down within ${SHUTDOWN_WAIT_S} s`),
      );
      assert.match(await page.textContent("#status") ?? "", /^shutdown failed after \d+ s$/);
      // Its reboot showed as a step meanwhile, and in the history.
      await page.waitForSelector('#history tr[data-fact="domain.rebooted"]');
      assert.equal((await service.client.state("stubborn")).stateName, "running");
      await page.waitForSelector('button[data-offer="destroy"]');
      await page.screenshot({ path: `${SCREENSHOTS}/shutdown-timeout.png`, fullPage: true });
      assert.deepEqual(await seriousViolations(page), []);
      await page.click('button[data-offer="destroy"]');
      await waitText(page, "#status", "destroy done");
      await waitText(page, "#summary [data-field=state]", "shut off");
      assert.equal((await service.client.state("stubborn")).stateName, "shut off");
      assert.equal(await page.locator('button[data-offer="destroy"]').count(), 0);

      // A refused long action shows libvirt's code and message too (the test driver's: code 1).
      await page.click('button[data-action="shutdown"]');
      await page.waitForSelector("#error[data-code='1']");
      assert.match(await page.textContent("#error") ?? "", /domain 'stubborn' not running/);
      assert.match(await page.textContent("#status") ?? "", /^shutdown failed after \d+ s$/);
      assert.equal(await page.locator('button[data-offer="destroy"]').count(), 0);
    } finally {
      await browser?.close();
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

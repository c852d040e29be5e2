/**
 * The web console's consoles in a real browser against the real service and one real QEMU test
 * guest: the serial console (xterm.js over the service's WebSocket) shows the guest's boot text
 * and runs a typed command; a second writer is refused (code 9) unless it forces, which closes
 * the first; a read-only session views and is refused when it writes (code 29); live charts follow
 * the stats stream; the VNC display
 * (noVNC over the service's proxy to QEMU's VNC server) draws a frame on its canvas; a start from
 * the page shows the boot text over a view-only console socket that leaves the writer's place free,
 * and a shutdown from the page waits until the guest has stopped. Every QEMU
 * the service started is killed by pid in `finally`.
 */

import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { missing, testIf } from "../support/environment.ts";
import { RpcReplyError, RpcTestClient } from "../support/rpc_client.ts";
import { runChild } from "../support/child_process.ts";
import { socketUri, VIRSH_TIMEOUT_MS } from "../support/virsh.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_READY_MARKER,
  GUEST_SHELL_SWITCH,
  guestSkipReason,
} from "../support/guest.ts";
import { killQemus, serviceQemuPids } from "../support/service_qemus.ts";
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
import { guestDefinition } from "./_qemu_guest.ts";

/** The terminal's text as xterm.js renders it (its DOM renderer's rows). */
async function terminalText(page: Page): Promise<string> {
  return await page.locator("#terminal .xterm-rows").innerText();
}

/** Waits until the terminal shows a line matching `pattern`. */
async function waitTerminal(page: Page, pattern: RegExp, timeoutMs: number): Promise<void> {
  try {
    await page.locator("#terminal .xterm-rows div", { hasText: pattern }).first().waitFor({
      timeout: timeoutMs,
    });
  } catch (error) {
    const text = await terminalText(page).catch(() => "(unreadable)");
    throw new Error(`no line ${pattern} in the terminal: ${JSON.stringify(text.slice(-600))}`, {
      cause: error,
    });
  }
}

/**
 * Opens one more console WebSocket from the page (as the page's session) and answers how it
 * closed, after sending `send` once it is open, or after `holdMs` if nothing closed it.
 */
async function extraSocket(
  page: Page,
  options: { uuid: string; force: boolean; send?: string; holdMs: number },
): Promise<{ opened: boolean; code: number; reason: string }> {
  return await page.evaluate(async ({ uuid, force, send, holdMs }) => {
    const session = await (await fetch("/ui/session")).json();
    const protocols = session.csrf ? ["evirt.v1", "evirt-csrf." + session.csrf] : ["evirt.v1"];
    const socket = new WebSocket(
      `ws://${location.host}/v1/domains/${uuid}/console/socket${force ? "?force=1" : ""}`,
      protocols,
    );
    let opened = false;
    return await new Promise<{ opened: boolean; code: number; reason: string }>((resolve) => {
      const timer = setTimeout(() => {
        resolve({ opened, code: 0, reason: "still open" });
        socket.close();
      }, holdMs);
      socket.onopen = () => {
        opened = true;
        if (send !== undefined) socket.send(new TextEncoder().encode(send));
      };
      socket.onclose = (event) => {
        clearTimeout(timer);
        resolve({ opened, code: event.code, reason: event.reason });
      };
    });
  }, options);
}

testIf(
  "web console with a QEMU guest: serial console in xterm.js (boot text, a typed command, one writer shared with virDomainOpenConsole, force, view only) and the VNC display in noVNC",
  guestSkipReason() ?? missing("qemu-system-x86_64", "chromium"),
  async () => {
    const dirs = await serviceDirs();
    const { service, origin } = await startWebService(dirs);
    let browser: Browser | undefined;
    try {
      const definition = guestDefinition("web-guest", { serial: "pty" });
      definition.os.cmdline = `${definition.os.cmdline} ${GUEST_SHELL_SWITCH}`;
      definition.devices.graphics.push({ type: "vnc", port: -1, autoport: "yes", listens: [] });
      const { uuid } = await service.client.define({ definition });
      // Paused, so the console is open before the guest prints its first line.
      await service.client.action("web-guest", "start", { paused: true });
      browser = await launchChromium();
      const page = await login(browser, origin, READ_WRITE_TOKEN);
      await page.goto(`${origin}/#/domain/web-guest`);
      await page.waitForSelector("body[data-ready=domain]");
      await page.click("#open-console");
      await page.waitForSelector("#terminal[data-state=open]");
      await service.client.action("web-guest", "resume");
      await waitTerminal(page, new RegExp(`^${GUEST_READY_MARKER}$`), GUEST_BOOT_TIMEOUT_MS);

      // A typed command runs in the guest's shell and its output shows.
      await page.click("#terminal");
      await page.keyboard.type("echo web-$((6*7))\n");
      await waitTerminal(page, /^web-42$/, GUEST_BOOT_TIMEOUT_MS);
      await page.screenshot({ path: `${SCREENSHOTS}/domain-serial-console.png`, fullPage: true });
      assert.deepEqual(await seriousViolations(page), []);

      // Live charts follow the stats stream: rates appear from the second sample on.
      await page.locator("#charts [data-chart=cpu]", { hasText: /^busy \d+\.\d %$/ }).waitFor();
      await page.locator("#charts [data-chart=disk]", { hasText: /^read \d/ }).waitFor();
      const memory = await page.textContent("#charts [data-chart=memory]") ?? "";
      const memoryMiB = Number(/^current (\d+\.\d) MiB$/.exec(memory)?.[1]);
      assert.ok(memoryMiB > 0 && memoryMiB <= 128, memory);
      assert.ok(Number(await page.getAttribute("#charts", "data-samples")) >= 2);

      // One writer at a time: a second is refused with libvirt's code 9 and message...
      const refused = await extraSocket(page, { uuid, force: false, holdMs: 5000 });
      assert.equal(refused.code, 4009);
      assert.equal(refused.reason, "Active console session exists for this domain");
      assert.equal(await page.getAttribute("#terminal", "data-state"), "open");
      // ...unless it forces, which ends the first session.
      const forced = await extraSocket(page, { uuid, force: true, holdMs: 1500 });
      assert.deepEqual(forced, { opened: true, code: 0, reason: "still open" });
      await page.waitForSelector("#terminal[data-state=closed]", { state: "attached" });
      await waitText(page, "#console-status", "another session took the console over");
      // The forcing session ended when its socket closed: the page's console opens again.
      await page.click("#open-console");
      await page.waitForSelector("#terminal[data-state=open]");

      // virsh console (virDomainOpenConsole over libvirt's protocol) obeys the same rule: refused
      // with code 9 while the page writes; VIR_DOMAIN_CONSOLE_FORCE (1) takes the console over.
      const rpc = await RpcTestClient.connect(`${dirs.runtimeDir}/libvirt-sock`);
      try {
        await rpc.call("virConnectOpen", { name: "qemu:///system", flags: 0 });
        const { dom } = await rpc.call("virDomainLookupByName", { name: "web-guest" }) as {
          dom: unknown;
        };
        const console = { dom, dev_name: null };
        await assert.rejects(
          rpc.call("virDomainOpenConsole", { ...console, flags: 0 }),
          (error) => {
            assert.ok(error instanceof RpcReplyError);
            assert.equal(error.code, 9);
            assert.match(error.message, /Active console session exists for this domain/);
            return true;
          },
        );
        // So is the real virsh's (under script(1), which gives it the terminal it asks for).
        if (missing("script") === undefined && missing("virsh") === undefined) {
          const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
          const virsh = await runChild(
            "script",
            ["-qec", `virsh -c '${uri}' console web-guest`, "/dev/null"],
            { LIBVIRT_DEFAULT_URI: "", VIRSH_DEFAULT_CONNECT_URI: "" },
            VIRSH_TIMEOUT_MS,
          );
          assert.notEqual(virsh.code, 0, virsh.stdout);
          assert.match(virsh.stdout, /Active console session exists for this domain/);
        }
        assert.equal(await page.getAttribute("#terminal", "data-state"), "open");
        await rpc.call("virDomainOpenConsole", { ...console, flags: 1 });
        await page.waitForSelector("#terminal[data-state=closed]", { state: "attached" });
        await waitText(page, "#console-status", "another session took the console over");
        // While the RPC stream holds it, the page is refused in turn.
        await page.click("#open-console");
        await page.waitForSelector("#error[data-code='9']");
      } finally {
        await rpc.close();
      }
      // The RPC stream let go with its connection: the page's console opens again.
      await page.click("#open-console");
      await page.waitForSelector("#terminal[data-state=open]");

      // A read-only session views the console and is refused when it writes.
      const readOnly = await login(browser, origin, READ_ONLY_TOKEN);
      await readOnly.goto(`${origin}/#/domain/web-guest`);
      await readOnly.waitForSelector("body[data-ready=domain]");
      assert.equal(await readOnly.locator("#open-display").count(), 0);
      await readOnly.click("#open-console");
      await readOnly.waitForSelector("#terminal[data-state=open]");
      await page.click("#terminal");
      await page.keyboard.type("echo seen-by-$((40+2))-viewers\n");
      await waitTerminal(readOnly, /^seen-by-42-viewers$/, GUEST_BOOT_TIMEOUT_MS);
      // The writer was not displaced by the viewer.
      assert.equal(await page.getAttribute("#terminal", "data-state"), "open");
      const written = await extraSocket(readOnly, {
        uuid,
        force: true,
        send: "echo from-read-only\r",
        holdMs: 5000,
      });
      assert.equal(written.opened, true);
      assert.equal(written.code, 4029);
      assert.equal(written.reason, "read only access prevents virDomainOpenConsole");
      assert.doesNotMatch(await terminalText(page), /^from-read-only$/m);
      await readOnly.screenshot({
        path: `${SCREENSHOTS}/domain-serial-console-read-only.png`,
        fullPage: true,
      });
      assert.deepEqual(await seriousViolations(readOnly), []);

      // The VNC display: noVNC connects through the service and draws a frame.
      await page.click("#open-display");
      await page.waitForSelector("#screen[data-state=open]");
      const drawn = await page.locator("#screen canvas").evaluate(async (canvas) => {
        // The test's own types have no DOM: the canvas as far as it is read here.
        const element = canvas as unknown as {
          width: number;
          height: number;
          getContext(kind: "2d"): {
            getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
          };
        };
        const started = performance.now();
        // A frame has arrived once any pixel is opaque (an untouched canvas is transparent).
        while (performance.now() - started < 15_000) {
          const context = element.getContext("2d")!;
          const pixels = context.getImageData(0, 0, element.width, element.height).data;
          for (let index = 3; index < pixels.length; index += 4) {
            if (pixels[index] !== 0) return { width: element.width, height: element.height };
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return { width: element.width, height: element.height, empty: true };
      });
      assert.ok(drawn.width >= 320 && drawn.height >= 200, JSON.stringify(drawn));
      assert.equal("empty" in drawn, false, "no frame reached the canvas");
      await page.screenshot({ path: `${SCREENSHOTS}/domain-display.png`, fullPage: true });
      assert.deepEqual(await seriousViolations(page), []);

      await service.client.action("web-guest", "destroy");
      await page.waitForSelector("#terminal[data-state=closed]", { state: "attached" });

      // A start from the page: its progress ends once the guest runs, then the page shows the
      // boot text from a view-only console socket, which leaves the writer's place free.
      await waitText(page, "#summary [data-field=state]", "shut off");
      // Every text the boot line shows, recorded as it changes (a line may follow at once).
      await page.locator("#boot-progress").evaluate((box) => {
        // The test's own types have no DOM: the observer as far as it is used here.
        const page = globalThis as unknown as {
          bootSeen: string[];
          MutationObserver: new (callback: () => void) => {
            observe(target: unknown, options: Record<string, boolean>): void;
          };
        };
        const seen: string[] = [];
        page.bootSeen = seen;
        const text = box as unknown as { textContent: string | null };
        new page.MutationObserver(() => seen.push(text.textContent ?? "")).observe(box, {
          childList: true,
          characterData: true,
          subtree: true,
        });
      });
      await page.click('button[data-action="start"]');
      await page.waitForSelector("#status:not([data-progress])");
      assert.match(await page.textContent("#status") ?? "", /^start done: running after \d+ s$/);
      const bootShown = async () =>
        await page.evaluate(() => (globalThis as unknown as { bootSeen: string[] }).bootSeen);
      const bootStarted = performance.now();
      while (!(await bootShown()).includes(`boot: ${GUEST_READY_MARKER}`)) {
        assert.ok(
          performance.now() - bootStarted < GUEST_BOOT_TIMEOUT_MS,
          `no boot line ${GUEST_READY_MARKER}: ${JSON.stringify((await bootShown()).slice(-20))}`,
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await page.screenshot({ path: `${SCREENSHOTS}/domain-boot-progress.png`, fullPage: true });
      await page.click("#open-console");
      await page.waitForSelector("#terminal[data-state=open]");
      await page.click("#terminal");
      await page.keyboard.type("echo boot-$((2+3))\n");
      await waitTerminal(page, /^boot-5$/, GUEST_BOOT_TIMEOUT_MS);
      // The boot watch sees what the writer's session sees.
      await waitText(page, "#boot-progress", "boot: boot-5");
      assert.deepEqual(await seriousViolations(page), []);
      // A shutdown from the page: the guest powers off on ACPI, the page waits for it to stop.
      await page.click('button[data-action="shutdown"]');
      await page.waitForSelector("#status[data-progress=shutdown]");
      await page.waitForSelector("#status:not([data-progress])", {
        timeout: GUEST_BOOT_TIMEOUT_MS,
      });
      assert.match(
        await page.textContent("#status") ?? "",
        /^shutdown done: shut off after \d+ s$/,
      );
      assert.equal((await service.client.state("web-guest")).stateName, "shut off");
      await page.waitForSelector("#boot-progress[data-state=ended]");
      // The disposed terminal leaves an empty (invisible) area.
      await page.waitForSelector("#terminal[data-state=closed]", { state: "attached" });
    } finally {
      await browser?.close();
      await killQemus(serviceQemuPids(dirs.runtimeDir));
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

/**
 * Web console figures in Debian's chromium (Playwright), each beside its same-run baseline.
 *
 * As a script (`deno run -A bench/web_console_bench.ts`) it prints:
 * - page load to the first render of the domain list with `EVIRT_BENCH_DOMAINS` (1,000)
 *   test-hypervisor domains, median of `EVIRT_BENCH_LOADS` loads, beside the same page's
 *   fetch of the list it renders (`GET /v1/domains`) timed in the page;
 * - serial console round trip (a key sent on the console's WebSocket to its echo by the guest's
 *   shell arriving back in the page), p50/p99 of `EVIRT_BENCH_KEYS` keys, beside the same echo
 *   over the guest's pty opened directly by this process (no service, no browser) before the
 *   page's session. Needs the test guest and QEMU; skipped with a line otherwise.
 *
 * @module
 */

import type { Page } from "playwright-core";
import { median, medianSummary, percentileSummary } from "./_figures.ts";
import { parsePositiveInteger } from "../src/config/config.ts";
import { missing } from "../tests/support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_READY_MARKER,
  GUEST_SHELL_SWITCH,
  guestSkipReason,
} from "../tests/support/guest.ts";
import { killQemus, serviceQemuPids } from "../tests/support/service_qemus.ts";
import { removeServiceDirs, serviceDirs } from "../tests/support/service_process.ts";
import {
  launchChromium,
  login,
  READ_WRITE_TOKEN,
  startWebService,
} from "../tests/support/web_browser.ts";
import { guestDefinition } from "../tests/integration/_qemu_guest.ts";

const DOMAINS = parsePositiveInteger(Deno.env.toObject(), "EVIRT_BENCH_DOMAINS", 1000);
const LOADS = parsePositiveInteger(Deno.env.toObject(), "EVIRT_BENCH_LOADS", 5);
const KEYS = parsePositiveInteger(Deno.env.toObject(), "EVIRT_BENCH_KEYS", 200);
/** Longest one page load or one echo may take, in ms. */
const WAIT_MS = 60_000;

function testDomainXml(name: string): string {
  return `<domain type='test'><name>${name}</name><memory unit='MiB'>64</memory>` +
    `<vcpu>1</vcpu><os><type>hvm</type></os></domain>`;
}

async function pageLoad(): Promise<void> {
  const dirs = await serviceDirs();
  const { service, origin } = await startWebService(dirs);
  const browser = await launchChromium();
  try {
    for (let index = 0; index < DOMAINS; index++) {
      await service.client.define({ xml: testDomainXml(`bench-${index}`) });
    }
    const page = await login(browser, origin, READ_WRITE_TOKEN);
    const loads: number[] = [];
    const fetches: number[] = [];
    for (let round = 0; round < LOADS; round++) {
      const started = performance.now();
      // A full load each time (a query the page ignores), not a same-document hash change.
      await page.goto(`${origin}/?load=${round}`);
      await page.waitForSelector("body[data-ready=host]", { timeout: WAIT_MS });
      loads.push(performance.now() - started);
      const rows = await page.locator("#domains tr").count();
      if (rows !== DOMAINS) throw new Error(`the list shows ${rows} domains, not ${DOMAINS}`);
      fetches.push(
        await page.evaluate(async () => {
          const started = performance.now();
          await (await fetch("/v1/domains")).json();
          return performance.now() - started;
        }),
      );
    }
    console.log(`Page load to the first list render, ${DOMAINS} domains (${LOADS} loads)`);
    console.log(`  page load:                 ${medianSummary(loads)}`);
    console.log(`  GET /v1/domains (baseline): ${medianSummary(fetches)}`);
    console.log(`  ratio:                      ${(median(loads) / median(fetches)).toFixed(1)}×`);
  } finally {
    await browser.close();
    await service.stop("SIGTERM");
    await removeServiceDirs(dirs);
  }
}

/** Echo round trips (ms) of `keys` keys over a pty opened here. */
async function ptyEchoes(path: string, keys: number): Promise<number[]> {
  const reading = await Deno.open(path, { read: true });
  const writing = await Deno.open(path, { write: true });
  const buffer = new Uint8Array(4096);
  const samples: number[] = [];
  try {
    for (let index = 0; index < keys; index++) {
      const started = performance.now();
      await writing.write(new Uint8Array([0x61]));
      let seen = false;
      while (!seen) {
        const count = await reading.read(buffer);
        if (count === null) throw new Error("the pty ended");
        seen = buffer.subarray(0, count).includes(0x61);
      }
      samples.push(performance.now() - started);
    }
    // Ctrl-U: the shell forgets the typed line.
    await writing.write(new Uint8Array([0x15]));
  } finally {
    reading.close();
    writing.close();
  }
  return samples;
}

/** Echo round trips (ms) over the page's console WebSocket. */
async function socketEchoes(page: Page, uuid: string, keys: number): Promise<number[]> {
  return await page.evaluate(async ({ uuid, keys, waitMs }) => {
    const session = await (await fetch("/ui/session")).json();
    const socket = new WebSocket(
      `ws://${location.host}/v1/domains/${uuid}/console/socket?force=1`,
      ["evirt.v1", "evirt-csrf." + session.csrf],
    );
    socket.binaryType = "arraybuffer";
    let waiting: (() => void) | undefined;
    socket.onmessage = (event) => {
      if (new Uint8Array(event.data as ArrayBuffer).includes(0x61)) waiting?.();
    };
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onclose = reject;
    });
    const samples: number[] = [];
    for (let index = 0; index < keys; index++) {
      const echoed = new Promise<void>((resolve, reject) => {
        waiting = resolve;
        setTimeout(() => reject(new Error("no echo")), waitMs);
      });
      const started = performance.now();
      socket.send(new Uint8Array([0x61]));
      await echoed;
      samples.push(performance.now() - started);
    }
    socket.send(new Uint8Array([0x15]));
    socket.close();
    return samples;
  }, { uuid, keys, waitMs: WAIT_MS });
}

async function consoleRoundTrip(): Promise<void> {
  const skip = guestSkipReason() ?? missing("qemu-system-x86_64");
  if (skip !== undefined) {
    console.log(`Serial console round trip: skipped (${skip})`);
    return;
  }
  const dirs = await serviceDirs();
  const { service, origin } = await startWebService(dirs);
  const browser = await launchChromium();
  try {
    const definition = guestDefinition("bench-guest", { serial: "pty" });
    definition.os.cmdline = `${definition.os.cmdline} ${GUEST_SHELL_SWITCH}`;
    const { uuid } = await service.client.define({ definition });
    // Paused, so the pty is open here before the guest prints its first line.
    await service.client.action("bench-guest", "start", { paused: true });
    const path = await service.client.consolePath("bench-guest");
    await waitForPrompt(path, () => service.client.action("bench-guest", "resume"));
    const direct = await ptyEchoes(path, KEYS);
    const page = await login(browser, origin, READ_WRITE_TOKEN);
    await page.goto(`${origin}/#/domain/bench-guest`);
    await page.waitForSelector("body[data-ready=domain]");
    const web = await socketEchoes(page, uuid, KEYS);
    console.log(`Serial console round trip, key to echo (${KEYS} keys)`);
    console.log(`  browser WebSocket via the service: ${percentileSummary(web)}`);
    console.log(`  pty opened directly (baseline):    ${percentileSummary(direct)}`);
    console.log(`  median ratio: ${(median(web) / median(direct)).toFixed(2)}×`);
  } finally {
    await browser.close();
    await killQemus(serviceQemuPids(dirs.runtimeDir));
    await service.stop("SIGTERM");
    await removeServiceDirs(dirs);
  }
}

/** Resumes the guest and reads its pty until the shell's prompt after the ready marker. */
async function waitForPrompt(path: string, resume: () => Promise<unknown>): Promise<void> {
  const reading = await Deno.open(path, { read: true });
  await resume();
  const buffer = new Uint8Array(4096);
  let text = "";
  const deadline = setTimeout(() => reading.close(), GUEST_BOOT_TIMEOUT_MS);
  try {
    while (!(text.includes(GUEST_READY_MARKER) && text.includes("# "))) {
      const count = await reading.read(buffer);
      if (count === null) throw new Error("the pty ended");
      text = (text + new TextDecoder().decode(buffer.subarray(0, count))).slice(-8192);
    }
  } finally {
    clearTimeout(deadline);
    try {
      reading.close();
    } catch {
      // closed by the deadline
    }
  }
}

if (import.meta.main) {
  const skip = missing("chromium");
  if (skip !== undefined) {
    console.log(`web console bench: skipped (${skip})`);
  } else {
    await pageLoad();
    await consoleRoundTrip();
  }
}

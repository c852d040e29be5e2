/**
 * Live-update latency of the web console's domain list in Debian's chromium (Playwright), beside
 * a same-run baseline.
 *
 * As a script (`deno run -A bench/web_live_update_bench.ts`) it starts
 * `EVIRT_BENCH_LIVE_DOMAINS` (100) test-hypervisor domains, opens the host page, and drives
 * `EVIRT_BENCH_CHANGES` (1,000) state changes (suspend, resume, … round the domains) through the
 * API at `EVIRT_BENCH_RATE` (100) per second, each domain's next change sent after its last one
 * answered. It prints, p50/p99 over the changes:
 * - the API call's answer to the row's new state in the page's DOM (a MutationObserver's time);
 * - the answer to the change's event arriving at a plain `GET /v1/events` subscriber in this
 *   process (the baseline: what the stream alone costs);
 * - the event at the subscriber to the DOM change (what the page adds: its fetch and render).
 *
 * The page's clock is mapped onto this process's by the round trip of `page.evaluate` with the
 * smallest delay (its half is printed as the mapping's uncertainty). A change whose state the
 * page never showed (coalesced by its one-fetch-per-domain rule: the row shows the state its
 * fetch found) is counted and printed, not timed.
 *
 * @module
 */

import type { Page } from "playwright-core";
import { percentileSummary } from "./_figures.ts";
import { parsePositiveInteger } from "../src/config/config.ts";
import { missing } from "../tests/support/environment.ts";
import { removeServiceDirs, serviceDirs } from "../tests/support/service_process.ts";
import {
  launchChromium,
  login,
  READ_WRITE_TOKEN,
  startWebService,
} from "../tests/support/web_browser.ts";

const env = Deno.env.toObject();
const DOMAINS = parsePositiveInteger(env, "EVIRT_BENCH_LIVE_DOMAINS", 100);
const CHANGES = parsePositiveInteger(env, "EVIRT_BENCH_CHANGES", 1000);
const RATE = parsePositiveInteger(env, "EVIRT_BENCH_RATE", 100);
/** Longest the page and the subscriber may take to show the last change, in ms. */
const SETTLE_MS = 30_000;
/** Round trips tried when mapping the page's clock onto this process's. */
const CLOCK_PROBES = 20;

/** Now on a clock both processes share (wall-clock origin plus monotonic time), in ms. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

function testDomainXml(name: string): string {
  return `<domain type='test'><name>${name}</name><memory unit='MiB'>64</memory>` +
    `<vcpu>1</vcpu><os><type>hvm</type></os></domain>`;
}

/** Offset (ms) to add to a page time to get this process's time, and its uncertainty. */
async function pageClockOffset(page: Page): Promise<{ offset: number; uncertainty: number }> {
  let best = { offset: 0, uncertainty: Infinity };
  for (let probe = 0; probe < CLOCK_PROBES; probe++) {
    const sent = now();
    const pageTime = await page.evaluate(() => performance.timeOrigin + performance.now());
    const answered = now();
    const half = (answered - sent) / 2;
    if (half < best.uncertainty) best = { offset: sent + half - pageTime, uncertainty: half };
  }
  return best;
}

/** Each domain's lifecycle events (arrival times) from a plain subscriber, until stopped. */
function subscribe(socketPath: string): {
  arrivals: Map<string, number[]>;
  opened: Promise<void>;
  stop: () => Promise<void>;
} {
  const arrivals = new Map<string, number[]>();
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socketPath } });
  const controller = new AbortController();
  let markOpen: () => void = () => {};
  const opened = new Promise<void>((resolve) => markOpen = resolve);
  const reading = (async () => {
    const response = await fetch("http://evirt/v1/events", {
      client,
      signal: controller.signal,
    });
    markOpen();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of response.body!) {
        const at = now();
        buffer += decoder.decode(chunk, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split("\n").find((line) => line.startsWith("data: "));
          if (data === undefined) continue;
          const message = JSON.parse(data.slice(6));
          if (message.lifecycle === undefined) continue;
          const list = arrivals.get(message.domain.uuid) ?? [];
          list.push(at);
          arrivals.set(message.domain.uuid, list);
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
  })();
  return {
    arrivals,
    opened,
    stop: async () => {
      controller.abort();
      await reading;
      client.close();
    },
  };
}

async function liveUpdates(): Promise<void> {
  const dirs = await serviceDirs();
  const { service, origin } = await startWebService(dirs);
  const browser = await launchChromium();
  let subscriber: ReturnType<typeof subscribe> | undefined;
  try {
    const domains: { name: string; uuid: string }[] = [];
    for (let index = 0; index < DOMAINS; index++) {
      const name = `live-${index}`;
      const { uuid } = await service.client.define({ xml: testDomainXml(name) });
      await service.client.action(name, "start");
      domains.push({ name, uuid });
    }
    const page = await login(browser, origin, READ_WRITE_TOKEN);
    const rows = await page.locator("#domains tr").count();
    if (rows !== DOMAINS) throw new Error(`the list shows ${rows} domains, not ${DOMAINS}`);
    // Every row the page puts in the list, with its state and when (the page's clock).
    // (A string: the page's DOM types are not this process's.)
    await page.evaluate(`{
      const seen = [];
      globalThis.liveSeen = seen;
      new MutationObserver((records) => {
        const at = performance.timeOrigin + performance.now();
        for (const record of records) {
          for (const node of record.addedNodes) {
            if (node.nodeName !== "TR") continue;
            const state = node.querySelector("[data-field=state]")?.textContent ?? "";
            seen.push([node.dataset.uuid ?? "", state, at]);
          }
        }
      }).observe(document.getElementById("domains"), { childList: true });
    }`);
    const clock = await pageClockOffset(page);
    subscriber = subscribe(`${dirs.runtimeDir}/evirt.sock`);
    await subscriber.opened;

    // The changes: change i goes to domain i mod DOMAINS, suspending or resuming it in turn.
    const answers: { uuid: string; state: string; answeredAt: number }[] = [];
    const chains = domains.map(() => Promise.resolve());
    const counts = domains.map(() => 0);
    const interval = 1000 / RATE;
    const started = now();
    for (let index = 0; index < CHANGES; index++) {
      const due = started + index * interval;
      const wait = due - now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const slot = index % DOMAINS;
      const { name, uuid } = domains[slot];
      const suspend = counts[slot]++ % 2 === 0;
      chains[slot] = chains[slot].then(async () => {
        await service.client.action(name, suspend ? "suspend" : "resume");
        answers.push({ uuid, state: suspend ? "paused" : "running", answeredAt: now() });
      });
    }
    await Promise.all(chains);
    const sendingMs = now() - started;

    // Waits until the page and the subscriber saw as many changes as were answered.
    const deadline = now() + SETTLE_MS;
    let seen: [string, string, number][] = [];
    for (;;) {
      seen = await page.evaluate(() =>
        (globalThis as unknown as { liveSeen: [string, string, number][] }).liveSeen
      );
      const events = [...subscriber.arrivals.values()].reduce((sum, list) => sum + list.length, 0);
      if ((seen.length >= CHANGES && events >= CHANGES) || now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // Change k of a domain matches the k-th event and the next row showing its new state.
    const byDomain = new Map<string, [string, number][]>();
    for (const [uuid, state, at] of seen) {
      const list = byDomain.get(uuid) ?? [];
      list.push([state, at + clock.offset]);
      byDomain.set(uuid, list);
    }
    const toDom: number[] = [];
    const toEvent: number[] = [];
    const eventToDom: number[] = [];
    const eventIndex = new Map<string, number>();
    const rowIndex = new Map<string, number>();
    const previousAnswer = new Map<string, number>();
    let unseen = 0;
    for (const { uuid, state, answeredAt } of answers.sort((a, b) => a.answeredAt - b.answeredAt)) {
      const event = eventIndex.get(uuid) ?? 0;
      eventIndex.set(uuid, event + 1);
      const eventAt = subscriber.arrivals.get(uuid)?.[event];
      if (eventAt !== undefined) toEvent.push(eventAt - answeredAt);
      const rows = byDomain.get(uuid) ?? [];
      // A row rendered before the domain's previous change answered shows an older state.
      const after = previousAnswer.get(uuid) ?? -Infinity;
      previousAnswer.set(uuid, answeredAt);
      let row = rowIndex.get(uuid) ?? 0;
      while (row < rows.length && (rows[row][0] !== state || rows[row][1] < after)) row++;
      if (row === rows.length) {
        unseen++;
        continue;
      }
      rowIndex.set(uuid, row + 1);
      toDom.push(rows[row][1] - answeredAt);
      if (eventAt !== undefined) eventToDom.push(rows[row][1] - eventAt);
    }
    console.log(
      `Live update of the domain list, ${answers.length} state changes over ${DOMAINS} ` +
        `domains at ${(answers.length / sendingMs * 1000).toFixed(1)}/s (asked ${RATE}/s)`,
    );
    console.log(`  answer to DOM change:                ${percentileSummary(toDom)}`);
    console.log(`  answer to SSE event (baseline):      ${percentileSummary(toEvent)}`);
    console.log(`  SSE event to DOM change (the page):  ${percentileSummary(eventToDom)}`);
    console.log(
      `  changes the page never showed: ${unseen}; page clock mapped within ±${
        clock.uncertainty.toFixed(2)
      } ms`,
    );
  } finally {
    await subscriber?.stop();
    await browser.close();
    await service.stop("SIGTERM");
    await removeServiceDirs(dirs);
  }
}

if (import.meta.main) {
  const skip = missing("chromium");
  if (skip !== undefined) {
    console.log(`web live update bench: skipped (${skip})`);
  } else {
    await liveUpdates();
  }
}

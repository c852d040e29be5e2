/**
 * What the web console's browser tests share: a service on a loopback TCP port with a tokens
 * file, Debian's `chromium` driven by Playwright (`playwright-core`, no bundled browsers), a
 * login, waits that the page's Content-Security-Policy allows, and axe-core's serious
 * violations. Screenshots go to `.cache/screenshots/`.
 *
 * @module
 */

import assert from "node:assert/strict";
import axe from "axe-core";
import { type Browser, chromium, type Page } from "playwright-core";
import { cacheDir, findCommand } from "./environment.ts";
import { type ServiceDirs, type ServiceProcess, startServiceProcess } from "./service_process.ts";

export const READ_WRITE_TOKEN = "rw-web-console-0123456789abcdef";
export const READ_ONLY_TOKEN = "ro-web-console-0123456789abcdef";
export const SCREENSHOTS = `${cacheDir}/screenshots`;
/** Longest a page may take to show what a test waits for, in ms. */
export const PAGE_WAIT_MS = 15_000;

/**
 * A service listening on loopback TCP with both tokens, and its console's origin; stopped again
 * when it does not listen on TCP in time. The caller removes `dirs`. `program`: the service's
 * command, when not run from source (a compiled binary).
 */
export async function startWebService(
  dirs: ServiceDirs,
  program?: readonly string[],
): Promise<{ service: ServiceProcess; origin: string }> {
  const tokensPath = `${dirs.stateDir}/../tokens`;
  await Deno.writeTextFile(
    tokensPath,
    `read-write ${READ_WRITE_TOKEN}\nread-only ${READ_ONLY_TOKEN}\n`,
  );
  await Deno.chmod(tokensPath, 0o600);
  await Deno.mkdir(SCREENSHOTS, { recursive: true });
  const service = await startServiceProcess(
    dirs,
    {
      EVIRT_LISTEN: "127.0.0.1:0",
      EVIRT_TOKENS_FILE: tokensPath,
    },
    [],
    program,
  );
  try {
    return { service, origin: `http://127.0.0.1:${await tcpPortOf(service)}` };
  } catch (error) {
    await service.stop("SIGTERM");
    throw error;
  }
}

/** Debian's chromium, headless (without its sandbox as root: it cannot start there). */
export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({
    executablePath: findCommand("chromium"),
    headless: true,
    args: Deno.uid() === 0 ? ["--no-sandbox"] : [],
  });
}

/**
 * axe-core's serious and critical violations on the page as it stands (the library is evaluated
 * through the DevTools protocol, which the page's Content-Security-Policy does not govern).
 */
export async function seriousViolations(page: Page): Promise<string[]> {
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

/** How long the service may take to log its TCP listener after its unix socket, in ms. */
const TCP_LISTEN_WAIT_MS = 10_000;

/** The TCP port the service logged it listens on (it logs the unix sockets first). */
export async function tcpPortOf(service: ServiceProcess): Promise<number> {
  const started = performance.now();
  for (;;) {
    const match = /listening on http:\/\/127\.0\.0\.1:(\d+) \(bearer tokens\)/.exec(service.log());
    if (match !== null) return Number(match[1]);
    assert.ok(
      performance.now() - started < TCP_LISTEN_WAIT_MS,
      `no TCP listener in the service's log:\n${service.log()}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Logs in with a token in a new browser context; checks the login page's policy and
 * accessibility on the way. `onLoginPage` runs on the login page (a screenshot).
 */
export async function login(
  browser: Browser,
  origin: string,
  token: string,
  onLoginPage?: (page: Page) => Promise<void>,
): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(PAGE_WAIT_MS);
  const first = await page.goto(`${origin}/`);
  assert.match(
    first?.headers()["content-security-policy"] ?? "",
    /^default-src 'none'; script-src 'self'; style-src 'self' 'nonce-[A-Za-z0-9+/=]+'; /,
  );
  await page.waitForSelector("#login");
  await onLoginPage?.(page);
  assert.deepEqual(await seriousViolations(page), []);
  await page.fill("#token", token);
  await Promise.all([page.waitForURL(`${origin}/`), page.click("#login button[type=submit]")]);
  await page.waitForSelector("body[data-ready=host]");
  return page;
}

/** Waits until the text of `selector` is `text`. */
export async function waitText(page: Page, selector: string, text: string): Promise<void> {
  // Not `waitForFunction`: the console's Content-Security-Policy forbids evaluating strings.
  const exact = new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  await page.locator(selector, { hasText: exact }).waitFor({ timeout: PAGE_WAIT_MS });
}

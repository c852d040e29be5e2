/**
 * The web console's third-party browser code, from the npm packages pinned in `import_map.json`:
 * xterm.js (the serial console) as text modules, so the service and a compiled binary carry it,
 * and noVNC (the VNC display), an ES module tree whose package exports only its entry: its files
 * are read from the installed package, next to the entry the module graph holds.
 *
 * @module
 */

import XTERM_CSS from "@xterm/xterm/css/xterm.css" with { type: "text" };
import XTERM_JS from "@xterm/xterm/lib/xterm.mjs" with { type: "text" };
// The entry in the graph keeps the package installed (and embedded by `deno compile`).
import NOVNC_ENTRY from "@novnc/novnc" with { type: "text" };

export { XTERM_CSS, XTERM_JS };

/** Where the console serves noVNC's modules. */
export const NOVNC_PREFIX = "/ui/vendor/novnc/";
/** The module the console imports (the package's entry). */
export const NOVNC_ENTRY_PATH = "core/rfb.js";
/** noVNC's files the console may serve: its modules and the inflate code they import. */
const NOVNC_FILE = /^(core|vendor\/pako\/lib)\/[A-Za-z0-9_/-]+\.js$/;
/** noVNC's modules kept once read (the package has fewer). */
const NOVNC_CACHE_MAX = 128;

const novncRoot = new URL("../", import.meta.resolve("@novnc/novnc"));
const novncCache = new Map<string, string>([[NOVNC_ENTRY_PATH, NOVNC_ENTRY]]);

/**
 * One of noVNC's modules by its path in the package (`core/util/browser.js`), or undefined for a
 * path that is not one of its modules.
 *
 * @example
 * ```ts ignore
 * const source = await novncModule("core/rfb.js");
 * ```
 */
export async function novncModule(path: string): Promise<string | undefined> {
  if (!NOVNC_FILE.test(path)) return undefined;
  const cached = novncCache.get(path);
  if (cached !== undefined) return cached;
  let text: string;
  try {
    text = await Deno.readTextFile(new URL(path, novncRoot));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  if (novncCache.size < NOVNC_CACHE_MAX) novncCache.set(path, text);
  return text;
}

/**
 * Walks the web console's assets as a browser would load them: the page, the scripts and style
 * sheets it names, the modules each script imports (statically, dynamically, or by a `/ui/` path
 * it holds), transitively; checks each answer's status, content type and security headers.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CONTENT_SECURITY_POLICY } from "../../src/api/web/web_console.ts";

/** Most assets one walk fetches (noVNC has fewer than a hundred modules). */
const ASSETS_MAX = 400;

/** One asset as served. */
export interface ServedAsset {
  contentType: string;
  policy: string;
  body: string;
}

/** The content type an asset's path calls for. */
function typeOf(path: string): string {
  if (path === "/") return "text/html; charset=utf-8";
  if (/\.m?js$/.test(path)) return "text/javascript; charset=utf-8";
  if (path.endsWith(".css")) return "text/css; charset=utf-8";
  throw new Error(`no content type known for ${path}`);
}

/** The same-origin paths a page or script names. */
function referencesOf(path: string, body: string): string[] {
  const found: string[] = [];
  const patterns = path === "/" ? [/\s(?:src|href)="(\/[^"]*)"/g] : [
    /\b(?:import|export)\s[^'";]*?\bfrom\s*(['"])([^'"]+)\1/g,
    /\bimport\s*(['"])([^'"]+)\1/g,
    /\bimport\(\s*(['"])([^'"]+)\1\s*\)/g,
    /(['"])(\/ui\/[A-Za-z0-9_./-]+)\1/g,
  ];
  for (const pattern of patterns) {
    for (const match of body.matchAll(pattern)) {
      const specifier = match[match.length - 1];
      if (!specifier.startsWith("/") && !specifier.startsWith(".")) continue;
      const resolved = new URL(specifier, `http://console${path}`).pathname;
      // Paths of the console's other routes (`/ui/session`) are not assets.
      if (/\.(m?js|css)$/.test(resolved)) found.push(resolved);
    }
  }
  return found;
}

/**
 * Fetches `/` on `origin` and everything it loads, transitively; asserts each is answered 200
 * with its type, `nosniff` and the console's Content-Security-Policy (the page's with its style
 * nonce). Returns every asset by path.
 */
export async function walkConsoleAssets(origin: string): Promise<Map<string, ServedAsset>> {
  const served = new Map<string, ServedAsset>();
  const queue = ["/"];
  while (queue.length > 0) {
    const path = queue.shift()!;
    if (served.has(path)) continue;
    assert.ok(served.size < ASSETS_MAX, `more than ${ASSETS_MAX} assets`);
    const response = await fetch(`${origin}${path}`);
    const body = await response.text();
    assert.equal(response.status, 200, `${path}: ${body.slice(0, 200)}`);
    const asset = {
      contentType: response.headers.get("content-type") ?? "",
      policy: response.headers.get("content-security-policy") ?? "",
      body,
    };
    assert.equal(asset.contentType, typeOf(path), path);
    assert.equal(response.headers.get("x-content-type-options"), "nosniff", path);
    if (path === "/") {
      const nonce = /<meta name="evirt-style-nonce" content="([A-Za-z0-9+/=]+)">/.exec(body)?.[1];
      assert.ok(nonce !== undefined, "the page names its style nonce");
      assert.equal(
        asset.policy,
        CONTENT_SECURITY_POLICY.replace("style-src 'self'", `style-src 'self' 'nonce-${nonce}'`),
      );
    } else {
      assert.equal(asset.policy, CONTENT_SECURITY_POLICY, path);
    }
    served.set(path, asset);
    for (const reference of referencesOf(path, body)) {
      if (!served.has(reference)) queue.push(reference);
    }
  }
  return served;
}

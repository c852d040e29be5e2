/**
 * The dependency rule of design.md, checked by code: imports flow one way,
 *
 *   cli → service → client → api/rpc → projections → actors → drivers → driver protocol
 *     → storage/log → xml → config → model
 *
 * and no driver imports another driver. Every relative import (static, re-export, dynamic) of
 * every TypeScript file under `src/`, `actors/` and `drivers/` is read; an import may only reach
 * its own layer or one below. The driver protocol (`actors/driver_protocol.ts`) is the contract
 * drivers implement, so it sits below the drivers, apart from the rest of `actors/`. Tests and
 * benches are outside the rule: they may reach anything.
 */

import assert from "node:assert/strict";

/** A layer: the path prefixes it owns, and its height (an import may only go to a lower one). */
interface Layer {
  name: string;
  prefixes: string[];
  height: number;
}

/** The layers, bottom first. Peers share a height and may not import each other. */
const LAYERS: Layer[] = [
  { name: "model", prefixes: ["src/model/"], height: 0 },
  { name: "config", prefixes: ["src/config/"], height: 1 },
  // Listener plumbing (the accept loop) that the api and rpc peers both serve connections with.
  { name: "net", prefixes: ["src/net/"], height: 1 },
  // The host's processes as /proc shows them (QEMU, dnsmasq, the service's own launchers), the
  // C library calls Deno has no API for (src/host/libc.ts), and the serial console sessions on
  // the host's ptys that the api and rpc peers share (src/host/serial_consoles.ts).
  { name: "host", prefixes: ["src/host/"], height: 1 },
  // Worker threads: each sets its own scheduling (SCHED_BATCH) through the host's C library.
  { name: "workers", prefixes: ["src/workers/"], height: 2 },
  { name: "xml", prefixes: ["src/xml/"], height: 2 },
  { name: "storage", prefixes: ["src/storage/"], height: 3 },
  { name: "log", prefixes: ["src/log/"], height: 3 },
  { name: "driver protocol", prefixes: ["actors/driver_protocol.ts"], height: 4 },
  { name: "drivers", prefixes: ["drivers/"], height: 5 },
  { name: "actors", prefixes: ["actors/"], height: 6 },
  { name: "projections", prefixes: ["src/projections/"], height: 7 },
  { name: "api", prefixes: ["src/api/"], height: 8 },
  { name: "rpc", prefixes: ["src/rpc/"], height: 8 },
  { name: "client", prefixes: ["src/client/"], height: 9 },
  { name: "service", prefixes: ["src/service/"], height: 10 },
  { name: "cli", prefixes: ["src/cli/"], height: 11 },
  { name: "build", prefixes: ["src/build/"], height: 12 },
];

/** Folders whose files the rule covers. */
const RULED_FOLDERS = ["src", "actors", "drivers"];

/** One import that breaks the rule, and why. */
interface Violation {
  from: string;
  to: string;
  problem: string;
}

const REPO_DIR = new URL("../../", import.meta.url).pathname;

/** The layer owning a repo-relative path: the longest matching prefix. */
function layerOf(path: string): Layer | undefined {
  let best: { layer: Layer; length: number } | undefined;
  for (const layer of LAYERS) {
    for (const prefix of layer.prefixes) {
      const matches = prefix.endsWith("/") ? path.startsWith(prefix) : path === prefix;
      if (matches && (best === undefined || prefix.length > best.length)) {
        best = { layer, length: prefix.length };
      }
    }
  }
  return best?.layer;
}

/** `drivers/qemu/x.ts` → `qemu`; undefined outside `drivers/`. */
function driverOf(path: string): string | undefined {
  const parts = path.split("/");
  return parts[0] === "drivers" && parts.length > 2 ? parts[1] : undefined;
}

/**
 * The relative specifiers a source imports: `import … from`, `export … from`, side-effect
 * `import "…"` and `import("…")`. Lines that are comments (JSDoc examples import too) are skipped.
 */
function importsOf(source: string): string[] {
  const code = source.split("\n").filter((line) => {
    const trimmed = line.trimStart();
    return !(trimmed.startsWith("*") || trimmed.startsWith("/*") || trimmed.startsWith("//"));
  }).join("\n");
  const specifiers: string[] = [];
  const patterns = [
    /\b(?:import|export)\b[^"';]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) specifiers.push(match[1]);
  }
  return specifiers.filter((specifier) => specifier.startsWith("."));
}

/** Resolves a relative specifier against a repo-relative file path. */
function resolve(from: string, specifier: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const part of specifier.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return parts.join("/");
}

/**
 * Every import among `files` (repo-relative path → source) that breaks the rule.
 *
 * @param files The sources to check.
 * @returns The violations, in file order.
 */
function violationsOf(files: Map<string, string>): Violation[] {
  const violations: Violation[] = [];
  for (const [from, source] of files) {
    const fromLayer = layerOf(from);
    if (fromLayer === undefined) {
      violations.push({ from, to: from, problem: "file belongs to no layer" });
      continue;
    }
    for (const specifier of importsOf(source)) {
      const to = resolve(from, specifier);
      if (!RULED_FOLDERS.some((folder) => to.startsWith(`${folder}/`))) continue;
      const toLayer = layerOf(to);
      if (toLayer === undefined) {
        violations.push({ from, to, problem: "imports a file that belongs to no layer" });
        continue;
      }
      const fromDriver = driverOf(from);
      const toDriver = driverOf(to);
      if (fromDriver !== undefined && toDriver !== undefined && fromDriver !== toDriver) {
        violations.push({ from, to, problem: `driver ${fromDriver} imports driver ${toDriver}` });
        continue;
      }
      if (toLayer === fromLayer) continue;
      if (toLayer.height >= fromLayer.height) {
        violations.push({
          from,
          to,
          problem: `${fromLayer.name} imports ${toLayer.name}, which is not below it`,
        });
      }
    }
  }
  return violations;
}

async function treeSources(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  async function walk(relative: string): Promise<void> {
    for await (const entry of Deno.readDir(`${REPO_DIR}${relative}`)) {
      const path = `${relative}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile && entry.name.endsWith(".ts")) {
        files.set(path, await Deno.readTextFile(`${REPO_DIR}${path}`));
      }
    }
  }
  for (const folder of RULED_FOLDERS) await walk(folder);
  return new Map([...files].sort(([a], [b]) => a.localeCompare(b)));
}

Deno.test("dependency rule: no import in the tree runs back up the layers", async () => {
  const files = await treeSources();
  assert.ok(files.size > 100, `expected the whole tree, read ${files.size} files`);
  const lines = violationsOf(files).map(({ from, to, problem }) => `${from} → ${to}: ${problem}`);
  assert.deepEqual(lines, []);
});

Deno.test("dependency rule: the src/ root holds folders only", async () => {
  const rootFiles: string[] = [];
  for await (const entry of Deno.readDir(`${REPO_DIR}src`)) {
    if (entry.isFile) rootFiles.push(entry.name);
  }
  assert.deepEqual(rootFiles, []);
});

Deno.test("dependency rule: the driver protocol imports nothing from drivers/", async () => {
  const source = await Deno.readTextFile(`${REPO_DIR}actors/driver_protocol.ts`);
  const reached = importsOf(source).map((specifier) =>
    resolve("actors/driver_protocol.ts", specifier)
  );
  assert.ok(reached.length > 0);
  assert.deepEqual(reached.filter((path) => path.startsWith("drivers/")), []);
});

Deno.test("dependency rule: an import up the layers is a violation", () => {
  const files = new Map([
    ["src/model/a.ts", `import { host } from "../../actors/host.ts";\n`],
    ["actors/host.ts", `import { model } from "../src/model/a.ts";\n`],
  ]);
  assert.deepEqual(violationsOf(files), [{
    from: "src/model/a.ts",
    to: "actors/host.ts",
    problem: "model imports actors, which is not below it",
  }]);
});

Deno.test("dependency rule: a driver importing another driver is a violation", () => {
  const files = new Map([
    ["drivers/test/test_driver.ts", `import type { X } from "../qemu/block_node_facts.ts";\n`],
  ]);
  assert.deepEqual(violationsOf(files).map(({ problem }) => problem), [
    "driver test imports driver qemu",
  ]);
});

Deno.test("dependency rule: peers may not import each other, a layer may import itself", () => {
  const files = new Map([
    ["src/log/a.ts", `export { b } from "./b.ts";\nimport "../storage/c.ts";\n`],
    ["src/log/b.ts", ""],
  ]);
  assert.deepEqual(violationsOf(files).map(({ problem }) => problem), [
    "log imports storage, which is not below it",
  ]);
});

Deno.test("dependency rule: dynamic imports count, commented ones do not", () => {
  const files = new Map([
    [
      "src/xml/a.ts",
      [
        ` * import { x } from "../cli/main.ts";`,
        `// import "../cli/main.ts";`,
        `const cli = await import("../cli/main.ts");`,
      ].join("\n"),
    ],
  ]);
  assert.deepEqual(violationsOf(files).map(({ to }) => to), ["src/cli/main.ts"]);
});

Deno.test("dependency rule: drivers may import the driver protocol but not the rest of actors/", () => {
  const files = new Map([
    [
      "drivers/qemu/qemu_driver.ts",
      `import type { Driver } from "../../actors/driver_protocol.ts";\n` +
      `import { Host } from "../../actors/host.ts";\n`,
    ],
  ]);
  assert.deepEqual(violationsOf(files).map(({ to }) => to), ["actors/host.ts"]);
});

Deno.test("dependency rule: a file outside every layer is reported", () => {
  assert.deepEqual(violationsOf(new Map([["src/misc.ts", ""]])).map(({ problem }) => problem), [
    "file belongs to no layer",
  ]);
});

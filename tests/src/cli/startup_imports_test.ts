/**
 * The CLI loads only what a verb needs: the static imports of `src/cli/main.ts` and of any one verb
 * (but `daemon`) never reach the service, the XML reader and schema tables, the actors, the
 * drivers (QEMU's argv code) or an npm package. Every verb and the in-process test hypervisor
 * stay reachable through static dynamic-import strings, so `deno compile` still bundles them.
 */

import assert from "node:assert/strict";
import { VERB_LOADERS } from "../../../src/cli/verb_registry.ts";
import { repoDir } from "../../support/environment.ts";

interface Dependency {
  specifier: string;
  isDynamic?: boolean;
  code?: { specifier: string };
}

interface ModuleInfo {
  specifier: string;
  dependencies?: Dependency[];
}

const ROOT = `file://${repoDir}/`;

const FORBIDDEN = [
  "src/service/",
  "src/xml/",
  "src/model/domain_schema.ts",
  "src/api/app.ts",
  "actors/",
  "drivers/",
  "npm:",
];

async function moduleGraph(): Promise<Map<string, ModuleInfo>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "src/cli/main.ts"],
    cwd: repoDir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  const graph = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: ModuleInfo[] };
  return new Map(graph.modules.map((module) => [module.specifier, module]));
}

/** Every module `start` loads at run time through static imports (type-only imports aside). */
function staticClosure(graph: Map<string, ModuleInfo>, start: string): Set<string> {
  const seen = new Set<string>([start]);
  const pending = [start];
  while (pending.length > 0) {
    const module = graph.get(pending.pop()!);
    for (const dependency of module?.dependencies ?? []) {
      const target = dependency.code?.specifier;
      if (target === undefined || dependency.isDynamic || seen.has(target)) continue;
      seen.add(target);
      pending.push(target);
    }
  }
  return seen;
}

function dynamicTargets(graph: Map<string, ModuleInfo>, specifier: string): string[] {
  return (graph.get(specifier)?.dependencies ?? [])
    .filter((dependency) => dependency.isDynamic && dependency.code !== undefined)
    .map((dependency) => dependency.code!.specifier.slice(ROOT.length));
}

const graph = await moduleGraph();
const cliClosure = staticClosure(graph, `${ROOT}src/cli/main.ts`);

function forbiddenIn(closure: Set<string>): string[] {
  return [...closure].map((specifier) => specifier.replace(ROOT, "")).filter((path) =>
    FORBIDDEN.some((prefix) => path.startsWith(prefix))
  );
}

Deno.test("src/cli/main.ts statically imports no service, XML, actor, driver or npm module", () => {
  assert.deepEqual(forbiddenIn(cliClosure), []);
});

for (const name of Object.keys(VERB_LOADERS).filter((each) => each !== "daemon")) {
  Deno.test(`the ${name} verb statically imports no service, XML, actor, driver or npm module`, () => {
    const closure = staticClosure(graph, `${ROOT}src/cli/verbs/${name}.ts`);
    assert.ok(graph.has(`${ROOT}src/cli/verbs/${name}.ts`), `${name} is in the compile graph`);
    assert.deepEqual(forbiddenIn(closure), []);
  });
}

Deno.test("every verb and the test hypervisor are dynamic imports deno compile can see", () => {
  const verbs = dynamicTargets(graph, `${ROOT}src/cli/verb_registry.ts`).sort();
  assert.deepEqual(
    verbs,
    Object.keys(VERB_LOADERS).map((name) => `src/cli/verbs/${name}.ts`).sort(),
  );
  assert.deepEqual(dynamicTargets(graph, `${ROOT}src/cli/connection.ts`), [
    "src/service/test_hypervisor.ts",
  ]);
});

Deno.test("the in-process test hypervisor loads no listener, SQLite log or QEMU driver", () => {
  const closure = staticClosure(graph, `${ROOT}src/service/test_hypervisor.ts`);
  const paths = [...closure].map((specifier) => specifier.replace(ROOT, ""));
  const heavy = [
    "src/service/service.ts",
    "src/api/server.ts",
    "src/log/sqlite_store.ts",
    "src/service/service_drivers.ts",
    "src/rpc/",
    // Nothing of QEMU's: the neutral storage facts the test driver reads live in src/storage.
    "drivers/qemu/",
  ];
  assert.deepEqual(paths.filter((path) => heavy.some((prefix) => path.startsWith(prefix))), []);
  assert.ok(paths.includes("src/service/service_core.ts"));
});

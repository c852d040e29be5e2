/**
 * `<numatune>` as QEMU gives it: with guest NUMA cells, each cell's RAM backend is bound to the
 * host nodes of its `<memnode>` (else of `<memory>`) with the mode's policy (strict → `bind`,
 * preferred, interleave; restrictive sets none, as libvirt leaves it to cgroups). The host
 * nodes must exist here (libvirt's "NUMA node N is unavailable", code 67). Without guest cells the
 * whole RAM's backend (`pc.ram`) is bound, as libvirt 9.0 does with QEMU's memory backends.
 * Automatic placement needs numad, which evirt does not use: refused by element.
 *
 * @module
 */

import type { DomainDefinition } from "../../src/model/domain.ts";
import { formatCpuSet, parseCpuSet } from "../../src/model/cpu_set.ts";
import { refuseConfig } from "./config_refusal.ts";

/** libvirt's memory modes and QEMU's memory backend policies (restrictive: none). */
const POLICIES: Record<string, string | undefined> = {
  strict: "bind",
  preferred: "preferred",
  interleave: "interleave",
  restrictive: undefined,
};

/** Where the host's online NUMA nodes are listed. */
const ONLINE_NODES_PATH = "/sys/devices/system/node/online";

/** The host nodes and policy of one cell's RAM backend, as `-object` option text. */
export type CellBinding = string;

/**
 * Checks `<numatune>` and gives each guest cell's binding (`host-nodes=…,policy=…`), by cell id.
 *
 * @param definition The definition.
 * @param onlineText The host's online node list (default: read from sysfs; `"0"` if absent).
 * @returns The option text per cell id; empty when there is no `<numatune>`.
 * @throws {VirtError} 67 naming the element that cannot be applied here.
 *
 * @example
 * ```ts
 * import { numaCellBindings } from "./numa_tune.ts";
 * import { parseDomainXml } from "../../src/xml/mod.ts";
 * const definition = parseDomainXml(
 *   "<domain type='qemu'><name>vm</name><memory>131072</memory><vcpu>1</vcpu>" +
 *     "<numatune><memory mode='strict' nodeset='0'/></numatune><os><type>hvm</type></os>" +
 *     "<cpu><numa><cell id='0' cpus='0' memory='131072'/></numa></cpu></domain>",
 * );
 * console.log(numaCellBindings(definition, "0").get(0)); // "host-nodes=0,policy=bind"
 * ```
 */
export function numaCellBindings(
  definition: DomainDefinition,
  onlineText?: string,
): Map<number, CellBinding> {
  const bindings = new Map<number, CellBinding>();
  const tune = definition.numatune;
  if (tune === undefined) return bindings;
  const where = "/domain/numatune";
  if (tune.memory?.placement === "auto") {
    throw refuseConfig(
      `${where}/memory/@placement`,
      "automatic NUMA placement needs numad, which evirt does not use",
    );
  }
  const cells = definition.cpu?.numa?.cells ?? [];
  // Without cells the whole RAM is bound (wholeRamBinding).
  if (cells.length === 0) return bindings;
  const online = onlineText ?? readOnlineNodes();
  const binding = (mode: string | undefined, nodeset: string | undefined, at: string) =>
    hostNodesBinding(mode, nodeset, at, online);
  const whole = binding(tune.memory?.mode, tune.memory?.nodeset, `${where}/memory`);
  cells.forEach((cell, index) => {
    const id = cell.id ?? index;
    const memnodeIndex = tune.memnodes.findIndex((memnode) => memnode.cellid === id);
    const cellBinding = memnodeIndex < 0 ? whole : binding(
      tune.memnodes[memnodeIndex].mode,
      tune.memnodes[memnodeIndex].nodeset,
      `${where}/memnode[${memnodeIndex + 1}]`,
    );
    if (cellBinding !== undefined) bindings.set(id, cellBinding);
  });
  return bindings;
}

/**
 * The binding of the whole RAM (`pc.ram`) of a guest without NUMA cells, as libvirt 9.0 gives
 * it with QEMU's memory backends: `<numatune><memory>`'s node set and mode; undefined when the
 * guest has cells or nothing binds it.
 *
 * @throws {VirtError} 67 for automatic placement (numad) and what {@linkcode hostNodesBinding}
 *   refuses.
 */
export function wholeRamBinding(
  definition: DomainDefinition,
  onlineText?: string,
): CellBinding | undefined {
  const memory = definition.numatune?.memory;
  if (memory === undefined || (definition.cpu?.numa?.cells ?? []).length > 0) return undefined;
  if (memory.placement === "auto") {
    throw refuseConfig(
      "/domain/numatune/memory/@placement",
      "automatic NUMA placement needs numad, which evirt does not use",
    );
  }
  return hostNodesBinding(memory.mode, memory.nodeset, "/domain/numatune/memory", onlineText);
}

/**
 * The `host-nodes=…,policy=…` option text binding a RAM backend to host nodes `nodeset` with
 * the numatune `mode` (undefined: strict), or undefined when nothing binds it.
 *
 * @param at Where the mode and node set are, for refusals.
 * @param onlineText The host's online node list (default: read from sysfs).
 * @param nodesetWhere Where the node set is (default: the `nodeset` attribute at `at`).
 * @throws {VirtError} 67 for an unknown mode, an empty node set or a node the host lacks.
 *
 * @example
 * ```ts
 * import { hostNodesBinding } from "./numa_tune.ts";
 * console.log(hostNodesBinding(undefined, "0", "/domain/numatune/memory", "0")); // "host-nodes=0,policy=bind"
 * ```
 */
export function hostNodesBinding(
  mode: string | undefined,
  nodeset: string | undefined,
  at: string,
  onlineText?: string,
  nodesetWhere = `${at}/@nodeset`,
): CellBinding | undefined {
  const policy = POLICIES[mode ?? "strict"];
  if (!((mode ?? "strict") in POLICIES)) {
    throw refuseConfig(`${at}/@mode`, `numatune mode '${mode}' is not supported`);
  }
  if (nodeset === undefined || policy === undefined) return undefined;
  const nodes = parseCpuSet(nodeset);
  if (nodes.length === 0) {
    throw refuseConfig(nodesetWhere, `Invalid value of 'nodeset': ${nodeset}`);
  }
  const online = new Set(parseCpuSet((onlineText ?? readOnlineNodes()).trim() || "0"));
  const missingNode = nodes.find((node) => !online.has(node));
  if (missingNode !== undefined) {
    throw refuseConfig(nodesetWhere, `NUMA node ${missingNode} is unavailable`);
  }
  // One host-nodes key per range: QEMU's option syntax repeats a list's key.
  const ranges = formatCpuSet(nodes).split(",").map((range) => `host-nodes=${range}`);
  return `${ranges.join(",")},policy=${policy}`;
}

function readOnlineNodes(): string {
  try {
    return Deno.readTextFileSync(ONLINE_NODES_PATH);
  } catch {
    // No NUMA support in the kernel: one node, 0.
    return "0";
  }
}

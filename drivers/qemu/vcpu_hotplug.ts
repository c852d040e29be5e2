/**
 * `<vcpus>`: which vCPUs a domain starts with and which of them are hotpluggable, as libvirt
 * gives QEMU: the enabled vCPUs that are not hotpluggable are `-smp`'s initial count (they must
 * be the first ids), and each enabled hotpluggable vCPU is a CPU device (`-device
 * <model>-x86_64-cpu,socket-id=…,core-id=…,thread-id=…,id=vcpuN`) in `order`, which the guest
 * sees exactly as libvirt's hotplug before the CPUs run.
 *
 * @module
 */

import type { DomainDefinition } from "../../src/model/domain.ts";
import type { XmlElement } from "../../src/model/xml_extra.ts";
import type { ArgumentCollector } from "./argument_collector.ts";
import { refuseConfig } from "./config_refusal.ts";
import { qemuOption } from "./qemu_option.ts";

/** One `<vcpus><vcpu>`. */
export interface VcpuState {
  id: number;
  enabled: boolean;
  hotpluggable: boolean;
  order?: number;
}

const WHERE = "/domain/vcpus";

/**
 * The `<vcpus>` list, or undefined when the definition has none.
 *
 * @throws {VirtError} 67 for a malformed or unsupported entry.
 */
export function vcpuStates(definition: DomainDefinition): VcpuState[] | undefined {
  const element = (definition.extra?.elements ?? []).map((placed) => placed.element)
    .find((each) => each.name === "vcpus");
  if (element === undefined) return undefined;
  const maximum = Math.max(1, definition.vcpus);
  const states = (element.children ?? []).filter((child): child is XmlElement =>
    typeof child !== "string"
  ).map((vcpu, index): VcpuState => {
    const where = `${WHERE}/vcpu[${index + 1}]`;
    const attributes = vcpu.attributes ?? {};
    for (const name of Object.keys(attributes)) {
      if (!["id", "enabled", "hotpluggable", "order"].includes(name)) {
        throw refuseConfig(`${where}/@${name}`, `vcpu attribute '${name}' is not supported`);
      }
    }
    const id = Number(attributes.id);
    if (vcpu.name !== "vcpu" || !Number.isSafeInteger(id) || id < 0 || id >= maximum) {
      throw refuseConfig(`${where}/@id`, `vcpu id '${attributes.id}' is out of range`);
    }
    return {
      id,
      enabled: attributes.enabled === "yes",
      hotpluggable: attributes.hotpluggable === "yes",
      order: attributes.order === undefined ? undefined : Number(attributes.order),
    };
  });
  return states;
}

/**
 * The number of vCPUs QEMU starts with (`-smp`'s first value): the enabled ones that are not
 * hotpluggable when `<vcpus>` is given.
 *
 * @throws {VirtError} 67 when those are not the first ids (QEMU's initial vCPUs are).
 */
export function initialVcpuCount(states: VcpuState[]): number {
  const cold = states.filter((state) => state.enabled && !state.hotpluggable);
  const initial = cold.length;
  const misplaced = cold.find((state) => state.id >= initial);
  if (misplaced !== undefined) {
    throw refuseConfig(
      `${WHERE}/vcpu[${states.indexOf(misplaced) + 1}]`,
      "vcpus that are enabled and not hotpluggable must be the first ones",
    );
  }
  const disabled = states.find((state) => !state.enabled && !state.hotpluggable);
  if (disabled !== undefined) {
    throw refuseConfig(
      `${WHERE}/vcpu[${states.indexOf(disabled) + 1}]/@hotpluggable`,
      "a disabled vcpu must be hotpluggable",
    );
  }
  if (initial === 0) {
    throw refuseConfig(WHERE, "at least one vcpu must be enabled and not hotpluggable");
  }
  return initial;
}

/**
 * Adds a CPU device for each enabled hotpluggable vCPU, in `order`.
 *
 * @param states The `<vcpus>` list.
 * @param cpuModel The `-cpu` model (QEMU's default when undefined).
 * @param emulator The emulator binary (its target names the CPU type).
 * @param topology sockets/dies/cores/threads, as `-smp` has them.
 */
export function addHotpluggableVcpus(
  states: VcpuState[],
  cpuModel: string | undefined,
  emulator: string,
  topology: { dies: number; cores: number; threads: number },
  collector: ArgumentCollector,
): void {
  const target = emulator.endsWith("i386") ? "i386" : "x86_64";
  const model = cpuModel ?? (target === "i386" ? "qemu32" : "qemu64");
  const hot = states.filter((state) => state.enabled && state.hotpluggable)
    .sort((a, b) => (a.order ?? a.id) - (b.order ?? b.id));
  const perSocket = topology.dies * topology.cores * topology.threads;
  for (const state of hot) {
    const socket = Math.floor(state.id / perSocket);
    const withinSocket = state.id % perSocket;
    const die = Math.floor(withinSocket / (topology.cores * topology.threads));
    const core = Math.floor(withinSocket / topology.threads) % topology.cores;
    const thread = state.id % topology.threads;
    collector.device(qemuOption(`${model}-${target}-cpu`, {
      id: `vcpu${state.id}`,
      "socket-id": socket,
      "die-id": topology.dies > 1 ? die : undefined,
      "core-id": core,
      "thread-id": thread,
    }));
  }
}

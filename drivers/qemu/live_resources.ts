/**
 * Changing a running QEMU instance's vCPUs and disk sizes, as libvirt 9.0's QEMU driver does:
 * vCPU hotplug through the slots `query-hotpluggable-cpus` lists (`device_add` of a CPU device
 * `vcpuN` with the slot's properties; `device_del` of one, waited for until the slot is empty)
 * and `block_resize` of a disk's format node. The balloon is `QmpCommands.balloon`.
 *
 * Which vCPUs may go: only hotpluggable ones (added live, or started as CPU devices per
 * `<vcpus>`); the first, cold vCPUs (`-smp`'s initial count) stay, so a count that only their
 * removal would reach is libvirt's code 9 `failed to find appropriate hotpluggable vcpus to
 * reach the desired target vcpu count`, and nothing changes.
 *
 * @module
 */

import type { DomainDefinition } from "../../src/model/domain.ts";
import { withCurrentVcpus } from "../../src/model/domain_resources.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { XmlElement } from "../../src/model/xml_extra.ts";
import type { RunningDisk } from "./block_node_facts.ts";
import type { QmpExecutor } from "./qmp_commands.ts";
import { type VcpuState, vcpuStates } from "./vcpu_hotplug.ts";

/** How long a vCPU unplug may take the guest (libvirt: 5 s), in ms. */
export const VCPU_UNPLUG_TIMEOUT_MS = 5_000;

/** How often the slots are read while an unplug is pending, in ms. */
const UNPLUG_POLL_MS = 100;

/** One entry of `query-hotpluggable-cpus`. */
export interface HotpluggableCpu {
  /** The CPU device type to add, e.g. `qemu64-x86_64-cpu`. */
  type: string;
  /** vCPUs the entry holds (1 on x86). */
  "vcpus-count": number;
  /** The slot's topology properties (`socket-id`, `die-id`, `core-id`, `thread-id`). */
  props: Record<string, number>;
  /** Present when a CPU occupies the slot. */
  "qom-path"?: string;
}

/** The vCPU topology the ids follow (`-smp`'s). */
interface Topology {
  dies: number;
  cores: number;
  threads: number;
}

function topologyOf(definition: DomainDefinition): Topology {
  const topology = definition.cpu?.topology;
  return {
    dies: topology?.dies ?? 1,
    cores: topology?.cores ?? 1,
    threads: topology?.threads ?? 1,
  };
}

/** The vCPU id of a slot: its position in socket, die, core, thread order (libvirt's). */
export function slotVcpuId(props: Record<string, number>, topology: Topology): number {
  const socket = props["socket-id"] ?? 0;
  const die = props["die-id"] ?? 0;
  const core = props["core-id"] ?? 0;
  const thread = props["thread-id"] ?? 0;
  return ((socket * topology.dies + die) * topology.cores + core) * topology.threads + thread;
}

/** The `<vcpus>` list of a definition, or the one `-smp current,maxcpus` implies. */
function statesOf(definition: DomainDefinition): VcpuState[] {
  const listed = vcpuStates(definition);
  if (listed !== undefined) return listed;
  const maximum = Math.max(1, definition.vcpus);
  const current = definition.vcpu?.current ?? maximum;
  return Array.from({ length: maximum }, (_, id) => ({
    id,
    enabled: id < current,
    hotpluggable: id >= current,
  }));
}

/**
 * The live definition with `present` vCPU ids enabled, as a `<vcpus>` list (libvirt's live XML
 * after a hotplug) and `<vcpu current>`.
 */
export function withPresentVcpus(
  definition: DomainDefinition,
  present: ReadonlySet<number>,
): DomainDefinition {
  const states = statesOf(definition);
  const element: XmlElement = {
    name: "vcpus",
    children: states.map((state) => ({
      name: "vcpu",
      attributes: {
        id: String(state.id),
        enabled: present.has(state.id) ? "yes" : "no",
        hotpluggable: state.hotpluggable ? "yes" : "no",
      },
    })),
  };
  const others = (definition.extra?.elements ?? []).filter((placed) =>
    placed.element.name !== "vcpus"
  );
  const extra = { ...(definition.extra ?? {}), elements: [...others, { after: "vcpu", element }] };
  return withCurrentVcpus({ ...definition, extra }, present.size);
}

/** What reaching `count` takes: slots to fill or ids to empty. */
export interface VcpuPlan {
  add: HotpluggableCpu[];
  remove: number[];
}

/**
 * Which slots to fill (lowest ids first) or which hotpluggable vCPUs to remove (highest ids
 * first) to have `count` vCPUs.
 *
 * @throws {VirtError} 9 when the hotpluggable vCPUs cannot reach `count`.
 */
export function planVcpus(
  definition: DomainDefinition,
  slots: HotpluggableCpu[],
  count: number,
): VcpuPlan {
  const topology = topologyOf(definition);
  const states = new Map(statesOf(definition).map((state) => [state.id, state]));
  const byId = slots.map((slot) => ({ id: slotVcpuId(slot.props, topology), slot }))
    .sort((a, b) => a.id - b.id);
  const present = byId.filter((entry) => entry.slot["qom-path"] !== undefined);
  const plan: VcpuPlan = { add: [], remove: [] };
  let reached = present.length;
  if (count > reached) {
    for (const entry of byId) {
      if (reached >= count) break;
      if (entry.slot["qom-path"] !== undefined) continue;
      plan.add.push(entry.slot);
      reached += 1;
    }
  } else {
    for (const entry of [...present].reverse()) {
      if (reached <= count) break;
      if (states.get(entry.id)?.hotpluggable !== true) continue;
      plan.remove.push(entry.id);
      reached -= 1;
    }
  }
  if (reached !== count) {
    throw new VirtError(
      ErrorCode.OPERATION_FAILED,
      "failed to find appropriate hotpluggable vcpus to reach the desired target vcpu count",
    );
  }
  return plan;
}

async function querySlots(qmp: QmpExecutor, signal: AbortSignal): Promise<HotpluggableCpu[]> {
  const reply = await qmp.execute<unknown>("query-hotpluggable-cpus", undefined, { signal });
  if (!Array.isArray(reply)) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, "unexpected reply to query-hotpluggable-cpus");
  }
  return reply as HotpluggableCpu[];
}

function presentIds(slots: HotpluggableCpu[], topology: Topology): Set<number> {
  return new Set(
    slots.filter((slot) => slot["qom-path"] !== undefined)
      .map((slot) => slotVcpuId(slot.props, topology)),
  );
}

/**
 * Makes `count` vCPUs present in the instance and answers the live definition that results.
 *
 * @param unplugTimeoutMs How long the guest may take to release a vCPU (libvirt's 5 s).
 * @throws {VirtError} 9 when the count cannot be reached by hotplug, 68 (libvirt's words) when
 *   the guest did not release a vCPU in time; QEMU's refusal of `device_add`.
 */
export async function setLiveVcpus(
  qmp: QmpExecutor,
  definition: DomainDefinition,
  count: number,
  signal: AbortSignal,
  unplugTimeoutMs: number = VCPU_UNPLUG_TIMEOUT_MS,
): Promise<DomainDefinition> {
  const topology = topologyOf(definition);
  const plan = planVcpus(definition, await querySlots(qmp, signal), count);
  for (const slot of plan.add) {
    const id = slotVcpuId(slot.props, topology);
    await qmp.execute("device_add", { driver: slot.type, id: `vcpu${id}`, ...slot.props }, {
      signal,
    });
  }
  for (const id of plan.remove) {
    await qmp.execute("device_del", { id: `vcpu${id}` }, { signal });
    const deadline = Date.now() + unplugTimeoutMs;
    while (presentIds(await querySlots(qmp, signal), topology).has(id)) {
      if (Date.now() >= deadline) {
        throw new VirtError(
          ErrorCode.OPERATION_TIMEOUT,
          "vcpu unplug request timed out. Unplug result must be manually inspected in the domain",
        );
      }
      await new Promise((resolve) => setTimeout(resolve, UNPLUG_POLL_MS));
    }
  }
  return withPresentVcpus(definition, presentIds(await querySlots(qmp, signal), topology));
}

/**
 * `block_resize` of a running disk: by its format node, else by its device.
 *
 * @throws {VirtError} 82 above what QMP's JSON carries exactly; QEMU's refusal (code 1).
 */
export async function resizeRunningDisk(
  qmp: QmpExecutor,
  disk: RunningDisk,
  sizeBytes: bigint,
  signal: AbortSignal,
): Promise<void> {
  if (sizeBytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new VirtError(ErrorCode.OVERFLOW, `size ${sizeBytes} is too large`, { where: "size" });
  }
  const size = Number(sizeBytes);
  const target = disk.nodeName !== undefined
    ? { "node-name": disk.nodeName }
    : { device: disk.qdevId };
  await qmp.execute("block_resize", { ...target, size }, { signal });
}

import assert from "node:assert/strict";
import {
  type HotpluggableCpu,
  planVcpus,
  resizeRunningDisk,
  setLiveVcpus,
  slotVcpuId,
  withPresentVcpus,
} from "../../../drivers/qemu/live_resources.ts";
import type { QmpExecutor } from "../../../drivers/qemu/qmp_commands.ts";
import { vcpuStates } from "../../../drivers/qemu/vcpu_hotplug.ts";
import { type DomainDefinition, emptyDevices } from "../../../src/model/domain.ts";
import { isVirtError } from "../../../src/model/errors.ts";

function definition(current: number, maximum: number): DomainDefinition {
  return {
    type: "qemu",
    name: "vm",
    memoryKiB: 262144,
    vcpus: maximum,
    ...(current < maximum ? { vcpu: { current } } : {}),
    os: { type: "hvm", boot: [] },
    devices: emptyDevices(),
  };
}

/** QEMU's slots for `maximum` single-thread sockets, the first `present` occupied. */
function slots(maximum: number, present: Set<number>): HotpluggableCpu[] {
  return Array.from({ length: maximum }, (_, id) => ({
    type: "qemu64-x86_64-cpu",
    "vcpus-count": 1,
    props: { "socket-id": id, "core-id": 0, "thread-id": 0 },
    ...(present.has(id) ? { "qom-path": `/machine/unattached/device[${id}]` } : {}),
  })).reverse(); // QEMU lists the highest first
}

/** A monitor that keeps the slots and answers the three commands the hotplug sends. */
function fakeMonitor(maximum: number, present: Set<number>, ejects = true) {
  const sent: { execute: string; args?: Record<string, unknown> }[] = [];
  const executor: QmpExecutor = {
    execute<T>(execute: string, args?: Record<string, unknown>): Promise<T> {
      sent.push({ execute, ...(args === undefined ? {} : { args }) });
      if (execute === "query-hotpluggable-cpus") {
        return Promise.resolve(slots(maximum, present) as T);
      }
      if (execute === "device_add") present.add(Number(args!["socket-id"]));
      if (execute === "device_del" && ejects) present.delete(Number(String(args!.id).slice(4)));
      return Promise.resolve({} as T);
    },
  };
  return { executor, sent };
}

Deno.test("slotVcpuId numbers slots socket by socket, core by core, thread by thread", () => {
  const topology = { dies: 1, cores: 2, threads: 2 };
  assert.equal(slotVcpuId({ "socket-id": 0, "core-id": 0, "thread-id": 0 }, topology), 0);
  assert.equal(slotVcpuId({ "socket-id": 0, "core-id": 1, "thread-id": 1 }, topology), 3);
  assert.equal(slotVcpuId({ "socket-id": 1, "core-id": 0, "thread-id": 1 }, topology), 5);
});

Deno.test("planVcpus fills the lowest empty slots and empties the highest hotpluggable ones", () => {
  const added = planVcpus(definition(1, 4), slots(4, new Set([0])), 3);
  assert.deepEqual(added.add.map((slot) => slot.props["socket-id"]), [1, 2]);
  const live = withPresentVcpus(definition(1, 4), new Set([0, 1, 2]));
  assert.deepEqual(planVcpus(live, slots(4, new Set([0, 1, 2])), 1).remove, [2, 1]);
});

Deno.test("planVcpus: vCPUs started with the guest cannot go (code 9, libvirt's message)", () => {
  assert.throws(
    () => planVcpus(definition(2, 4), slots(4, new Set([0, 1])), 1),
    (error: unknown) =>
      isVirtError(error, 9) &&
      (error as Error).message ===
        "failed to find appropriate hotpluggable vcpus to reach the desired target vcpu count",
  );
});

Deno.test("withPresentVcpus writes libvirt's live <vcpus> list and <vcpu current>", () => {
  const live = withPresentVcpus(definition(1, 3), new Set([0, 1]));
  assert.equal(live.vcpu?.current, 2);
  assert.deepEqual(vcpuStates(live), [
    { id: 0, enabled: true, hotpluggable: false, order: undefined },
    { id: 1, enabled: true, hotpluggable: true, order: undefined },
    { id: 2, enabled: false, hotpluggable: true, order: undefined },
  ]);
  assert.equal(withPresentVcpus(live, new Set([0, 1, 2])).vcpu, undefined);
});

Deno.test("setLiveVcpus adds CPU devices with the slot's properties, then removes them", async () => {
  const present = new Set([0]);
  const { executor, sent } = fakeMonitor(3, present);
  const signal = AbortSignal.timeout(5_000);
  const grown = await setLiveVcpus(executor, definition(1, 3), 3, signal);
  assert.deepEqual(
    sent.filter((command) => command.execute === "device_add").map((command) => command.args),
    [
      { driver: "qemu64-x86_64-cpu", id: "vcpu1", "socket-id": 1, "core-id": 0, "thread-id": 0 },
      { driver: "qemu64-x86_64-cpu", id: "vcpu2", "socket-id": 2, "core-id": 0, "thread-id": 0 },
    ],
  );
  assert.equal(grown.vcpu, undefined, "all three online");
  const shrunk = await setLiveVcpus(executor, grown, 1, signal);
  assert.deepEqual(
    sent.filter((command) => command.execute === "device_del").map((command) => command.args),
    [{ id: "vcpu2" }, { id: "vcpu1" }],
  );
  assert.equal(shrunk.vcpu?.current, 1);
});

Deno.test("setLiveVcpus answers libvirt's timeout when the guest does not release a vCPU", async () => {
  const { executor } = fakeMonitor(2, new Set([0, 1]), false);
  const live = withPresentVcpus(definition(1, 2), new Set([0, 1]));
  await assert.rejects(
    setLiveVcpus(executor, live, 1, AbortSignal.timeout(20_000), 300),
    (error: unknown) =>
      isVirtError(error, 68) &&
      (error as Error).message ===
        "vcpu unplug request timed out. Unplug result must be manually inspected in the domain",
  );
});

Deno.test("resizeRunningDisk sends block_resize by node name, else by device", async () => {
  const sent: unknown[] = [];
  const executor: QmpExecutor = {
    execute<T>(execute: string, args?: Record<string, unknown>): Promise<T> {
      sent.push({ execute, args });
      return Promise.resolve({} as T);
    },
  };
  const signal = AbortSignal.timeout(5_000);
  await resizeRunningDisk(executor, { target: "vda", nodeName: "libvirt-1-format" }, 4096n, signal);
  await resizeRunningDisk(executor, { target: "vdb", qdevId: "virtio-disk1" }, 512n, signal);
  assert.deepEqual(sent, [
    { execute: "block_resize", args: { "node-name": "libvirt-1-format", size: 4096 } },
    { execute: "block_resize", args: { device: "virtio-disk1", size: 512 } },
  ]);
  await assert.rejects(
    resizeRunningDisk(executor, { target: "vda" }, 1n << 60n, signal),
    (error: unknown) => isVirtError(error, 82),
  );
});

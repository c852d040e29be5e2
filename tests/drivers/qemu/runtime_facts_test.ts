import assert from "node:assert/strict";
import {
  chardevFacts,
  diskFacts,
  graphicsFacts,
  resourcePartitionOf,
  withDetectedBackingChains,
} from "../../../drivers/qemu/runtime_facts.ts";
import { type Disk, type DomainDefinition, emptyDevices } from "../../../src/model/domain.ts";
import { withTempDir } from "../../support/temp_dir.ts";
import { withLiveFacts } from "../../../src/model/live_facts.ts";
import { assertRefused, build } from "./_qemu_definitions.ts";
import { missing, testIf } from "../../support/environment.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";

function definitionWith(devices: Partial<DomainDefinition["devices"]>): DomainDefinition {
  return {
    type: "qemu",
    name: "vm",
    memoryKiB: 131072,
    vcpus: 1,
    os: { type: "hvm", boot: [] },
    devices: { ...emptyDevices(), ...devices },
  };
}

function disk(dev: string, file: string | undefined, extra: Partial<Disk> = {}): Disk {
  return {
    type: "file",
    ...(file === undefined ? {} : { source: { file, hosts: [] } }),
    target: { dev, bus: "virtio" },
    ...extra,
  };
}

Deno.test("diskFacts numbers images as libvirt 9.0: last disk first, top then its chain", () => {
  const chain = {
    type: "file",
    format: "raw",
    source: { file: "/i/base.raw", hosts: [] },
    backingStore: {},
  };
  const facts = diskFacts(definitionWith({
    disks: [
      disk("vda", "/i/a.raw", { backingStore: {} }),
      disk("vdb", "/i/top.qcow2", { driver: { type: "qcow2" }, backingStore: chain }),
      disk("sda", undefined, { device: "cdrom" }),
    ],
  }));
  assert.deepEqual(facts, [
    { index: 0, sourceIndex: 4, backing: [] },
    {
      index: 1,
      sourceIndex: 2,
      backing: [{ type: "file", path: "/i/base.raw", format: "raw", index: 3 }],
    },
    { index: 2 },
  ]);
});

Deno.test("diskFacts leaves an unknown chain out", () => {
  const facts = diskFacts(definitionWith({ disks: [disk("vda", "/i/a.vmdk")] }));
  assert.deepEqual(facts, [{ index: 0, sourceIndex: 1 }]);
});

Deno.test("withDetectedBackingChains fills raw and qcow2 chains and keeps a written one", async () => {
  await withTempDir("evirt-facts-", async (dir) => {
    await Deno.writeFile(`${dir}/a.raw`, new Uint8Array(512));
    const written = { type: "file", format: "raw", source: { file: "/x", hosts: [] } };
    const definition = definitionWith({
      disks: [
        disk("vda", `${dir}/a.raw`),
        disk("vdb", "/nonexistent", { backingStore: written }),
        disk("sda", undefined, { device: "cdrom" }),
      ],
    });
    const running = await withDetectedBackingChains(definition);
    assert.deepEqual(running.devices.disks[0].backingStore, {});
    assert.equal(running.devices.disks[1].backingStore, written);
    assert.equal(running.devices.disks[2].backingStore, undefined);
    assert.equal(definition.devices.disks[0].backingStore, undefined);
  });
});

Deno.test("chardevFacts gives each pty and chosen socket its device, shared consoles too", () => {
  const facts = chardevFacts(
    [{
      chardevId: "charserial0",
      alias: "serial0",
      console: true,
      place: { list: "serials", index: 0 },
    }, {
      chardevId: "charchannel1",
      alias: "channel1",
      console: false,
      place: { list: "channels", index: 1 },
    }],
    [{ index: 0, chardevId: "charserial0" }],
    [{ place: { list: "channels", index: 0 }, path: "/run/d/channel/agent" }],
    new Map([["charserial0", "/dev/pts/5"]]),
  );
  assert.deepEqual(facts, [
    { list: "serials", index: 0, path: "/dev/pts/5", pty: true },
    { list: "consoles", index: 0, path: "/dev/pts/5", pty: true },
    { list: "channels", index: 0, path: "/run/d/channel/agent", pty: false },
  ]);
});

Deno.test("graphicsFacts takes the ports QEMU listens on and the default listen address", () => {
  const servers = [{
    id: "default",
    server: [
      { host: "0.0.0.0", service: "5901", family: "ipv4", websocket: false },
      { host: "0.0.0.0", service: "5700", family: "ipv4", websocket: true },
    ],
  }];
  const open = definitionWith({
    graphics: [{ type: "vnc", port: -1, autoport: "yes", listens: [{ type: "address" }] }],
  });
  assert.deepEqual(graphicsFacts(open, servers), [
    { index: 0, port: 5901, websocket: 5700, listen: "127.0.0.1" },
  ]);
  const named = definitionWith({
    graphics: [{ type: "vnc", port: -1, listen: "0.0.0.0", listens: [] }],
  });
  assert.deepEqual(graphicsFacts(named, servers), [{ index: 0, port: 5901, websocket: 5700 }]);
  assert.deepEqual(graphicsFacts(definitionWith({}), servers), []);
});

Deno.test("resourcePartitionOf reads the unified control group of a process", () => {
  const partition = resourcePartitionOf(Deno.pid);
  const expected = Deno.readTextFileSync("/proc/self/cgroup").split("\n")
    .find((line) => line.startsWith("0::"))?.slice(3);
  assert.equal(partition, expected);
  assert.equal(resourcePartitionOf(2 ** 30), undefined);
});

Deno.test("withDetectedBackingChains leaves to QEMU and the path check what they refuse themselves", async () => {
  await withTempDir("evirt-facts-", async (dir) => {
    await Deno.writeFile(`${dir}/zeros.img`, new Uint8Array(4096));
    const definition = definitionWith({
      disks: [
        disk("vda", `${dir}/zeros.img`, { driver: { type: "qcow2" } }),
        disk("vdb", `${dir}/missing.img`, { driver: { type: "qcow2" } }),
      ],
    });
    // Not a qcow2 image (QEMU says so), and a missing top image (the host path check says so).
    assert.equal(await withDetectedBackingChains(definition), definition);
  });
});

testIf(
  "withDetectedBackingChains refuses a missing backing image (code 38)",
  missing("qemu-img"),
  async () => {
    await withTempDir("evirt-facts-", async (dir) => {
      const args = ["create", "-f", "qcow2", "-u", "-b", `${dir}/gone.raw`, "-F", "raw"];
      const output = await new Deno.Command("qemu-img", {
        args: [...args, `${dir}/top.qcow2`, "1M"],
        stdout: "null",
        stderr: "null",
      }).output();
      assert.equal(output.success, true);
      await assert.rejects(
        withDetectedBackingChains(
          definitionWith({
            disks: [disk("vda", `${dir}/top.qcow2`, { driver: { type: "qcow2" } })],
          }),
        ),
        (error) => isVirtError(error, ErrorCode.SYSTEM_ERROR) && /gone\.raw/.test(error.message),
      );
    });
  },
);

Deno.test("a live definition defined again builds: chosen channel paths are named anew, the partition is QEMU's", () => {
  const definition = definitionWith({
    channels: [{
      type: "unix",
      sources: [{ mode: "bind" }],
      target: { type: "virtio", name: "org.qemu.guest_agent.0" },
    }],
  });
  const live = withLiveFacts(definition, {
    chardevs: [{
      list: "channels",
      index: 0,
      path: "/run/evirt/qemu/domain-2-vm/channel/org.qemu.guest_agent.0",
      pty: false,
    }],
    resourcePartition: "/system.slice/evirt.service",
  });
  const context = {
    monitorSocketPath: "/run/evirt/qemu/domain-3-vm/monitor.sock",
    resourcePartition: "/system.slice/evirt.service",
  };
  const line = build(live, context);
  assert.deepEqual(line.chardevSockets.map((socket) => socket.path), [
    "/run/evirt/qemu/domain-3-vm/channel/org.qemu.guest_agent.0",
  ]);
  // A path the user chose stays.
  const chosen = structuredClone(definition);
  chosen.devices.channels[0].sources[0].path = "/srv/agent.sock";
  assert.deepEqual(build(chosen, context).chardevSockets, []);
  // Another partition than the one QEMU runs in is refused, by element.
  assertRefused(
    live,
    "/domain/resource/partition",
    /resource partition '\/system.slice\/evirt.service' is not supported/,
    { ...context, resourcePartition: "/" },
  );
});

/**
 * Interfaces of a running real QEMU guest (i440fx, so its kernel acknowledges PCI unplug through
 * ACPI hotplug): a user-mode NIC attached live appears in QEMU (`query-pci`, HMP `info network`)
 * and in the guest (its kernel log enumerates the new virtio-net PCI function), its link goes
 * down and up (`set_link`), it is detached with the guest's acknowledgement (DEVICE_DELETED
 * recorded as `domain.device_removed` after the intent, its backend removed), aliases follow
 * libvirt's next-`netN` rule, `--config` changes the definition only, and bad requests answer
 * libvirt's codes and append nothing (networks on a host: `network_guest_qemu_test.ts`). Every QEMU is ended in `finally`.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { NetInterface } from "../../src/model/domain.ts";
import { ErrorCode, isVirtError } from "../../src/model/errors.ts";
import { parseDeviceXml } from "../../src/xml/parse_device.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_READY_MARKER,
  guestKernelCmdline,
  guestSkipReason,
  readSerialLog,
  waitForSerialMarker,
} from "../support/guest.ts";
import {
  guestDefinition,
  killAll,
  openQemuRig,
  type QemuRig,
  recordLaunches,
  type StartedQemu,
} from "./_qemu_guest.ts";
import { DEVICE_REMOVAL_WAIT_MS } from "../../actors/device_commands.ts";
import { Host } from "../../actors/host.ts";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import { QmpCommands } from "../../drivers/qemu/qmp_commands.ts";
import { QmpMonitor } from "../../drivers/qemu/qmp_monitor.ts";
import type { EventStore } from "../../src/log/event_store.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { loggedEvents } from "../support/domains.ts";
import { searchableTempDirSync } from "../support/temp_dir.ts";

const skip = guestSkipReason() ?? missing("qemu-system-x86_64");

/** How long the guest's kernel may take to log a hotplugged PCI function. */
const GUEST_LOG_TIMEOUT_MS = 10_000;

function nicXml(options: { mac?: string; type?: string; extra?: string } = {}): string {
  const mac = options.mac === undefined ? "" : `<mac address='${options.mac}'/>`;
  return `<interface type='${options.type ?? "user"}'>${mac}<model type='virtio'/>` +
    `${options.extra ?? ""}</interface>`;
}

/** The PCI functions QEMU has on bus 0, by device id (`qdev_id`). */
async function pciDevices(qmp: QmpCommands): Promise<Map<string, { slot: number; id: number }>> {
  const buses = await qmp.passthrough("query-pci", undefined) as {
    devices: { qdev_id: string; slot: number; id: { device: number } }[];
  }[];
  return new Map(
    buses[0].devices.map((device) => [device.qdev_id, { slot: device.slot, id: device.id.device }]),
  );
}

async function expectRefusal(
  rig: QemuRig,
  what: string,
  call: () => Promise<unknown>,
  code: number,
  message: string | RegExp,
): Promise<void> {
  await assert.rejects(call, (error) => {
    assert.ok(isVirtError(error), `${what}: ${error}`);
    assert.equal(error.code, code, `${what}: ${error.message}`);
    if (typeof message === "string") assert.equal(error.message, message, what);
    else assert.match(error.message, message, what);
    return true;
  });
  void rig;
}

testIf(
  "a user-mode NIC attached to a running QEMU guest is seen by the guest, its link set down and up, detached with its acknowledgement",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      const serial = `${rig.dir}/serial.log`;
      const definition = guestDefinition("nics", { serial: { file: serial } });
      definition.os.machine = "pc";
      // Not quiet: the kernel's log on the serial console shows the PCI function arrive.
      definition.os.cmdline = guestKernelCmdline().replace(" quiet", "");
      await rig.host.define(definition);
      await rig.host.start("nics");
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });
      const uuid = rig.host.lookup("nics").uuid;
      const qmp = rig.driver.qmpOf(uuid);
      const attach = (xml: string, scope: { live?: boolean; config?: boolean } = { live: true }) =>
        rig.host.changeDevice("nics", { action: "attach", change: parseDeviceXml(xml), ...scope });

      // Bad input first: nothing may be appended.
      const before = (await rig.store.readAll({ afterPosition: 0 })).length;
      await expectRefusal(
        rig,
        "a network on a host without networks",
        () => attach(`<interface type='network'><source network='default'/></interface>`),
        ErrorCode.CONFIG_UNSUPPORTED,
        "network 'default': this host has no networks",
      );
      await expectRefusal(
        rig,
        "a bad MAC",
        () => attach(nicXml({ mac: "zz:54:00:11:22:33" })),
        ErrorCode.XML_ERROR,
        /unable to parse mac address 'zz:54:00:11:22:33'/,
      );
      await expectRefusal(
        rig,
        "a multicast MAC",
        () => attach(nicXml({ mac: "01:54:00:11:22:33" })),
        ErrorCode.XML_ERROR,
        /expected unicast mac address, found multicast '01:54:00:11:22:33'/,
      );
      await expectRefusal(
        rig,
        "an unknown interface",
        () =>
          rig.host.changeDevice("nics", {
            action: "detach",
            change: parseDeviceXml(nicXml({ mac: "52:54:00:00:00:99" })),
            live: true,
          }),
        ErrorCode.DEVICE_MISSING,
        "no device found at address '(<null>)' matching MAC address '52:54:00:00:00:99' and alias '(<null>)'",
      );
      assert.equal(
        (await rig.store.readAll({ afterPosition: 0 })).length,
        before,
        "refusals append nothing",
      );
      assert.equal([...(await pciDevices(qmp)).keys()].some((id) => id.startsWith("net")), false);

      // Attach without a MAC: one in 52:54:00, alias net0, a PCI slot; netdev_add + device_add.
      const attachStarted = performance.now();
      await attach(nicXml());
      const attachMs = performance.now() - attachStarted;
      const live = rig.host.context("nics").live!;
      const nic = live.devices.interfaces[0];
      assert.match(nic.mac ?? "", /^52:54:00:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/);
      assert.equal(nic.alias, "net0");
      assert.equal(nic.address?.type, "pci");
      assert.equal(rig.host.context("nics").definition?.devices.interfaces.length, 0, "live only");
      const pci = await pciDevices(qmp);
      assert.equal(pci.get("net0")?.slot, nic.address?.slot, "QEMU has it where the XML says");
      const network = await qmp.humanMonitorCommand("info network");
      assert.match(network, new RegExp(`net0: .*macaddr=${nic.mac}`));
      assert.match(network, /hostnet0: .*type=user/);
      // The guest's kernel enumerates the new virtio-net function (vendor 1af4, class 0200).
      const slotText = nic.address!.slot!.toString(16).padStart(2, "0");
      const arrival = new RegExp(
        `pci 0000:00:${slotText}\\.0: \\[1af4:1000\\] type 00 class 0x020000`,
      );
      const deadline = performance.now() + GUEST_LOG_TIMEOUT_MS;
      while (!arrival.test(readSerialLog(serial))) {
        assert.ok(
          performance.now() < deadline,
          `the guest logged the new NIC:\n${readSerialLog(serial).slice(-2000)}`,
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
      }

      // The same MAC again is taken, as libvirt 9.0 takes it; its alias is the next one.
      await attach(nicXml({ mac: nic.mac }));
      assert.deepEqual(
        rig.host.context("nics").live!.devices.interfaces.map((each) => each.alias),
        ["net0", "net1"],
      );
      // Two now carry that MAC: an update or detach naming only it matches both.
      await expectRefusal(
        rig,
        "an ambiguous MAC",
        () =>
          rig.host.changeDevice("nics", {
            action: "detach",
            change: parseDeviceXml(nicXml({ mac: nic.mac })),
            live: true,
          }),
        ErrorCode.OPERATION_FAILED,
        "multiple matching devices found",
      );
      const pendingNet1 = await rig.host.changeDevice("nics", {
        action: "detach",
        alias: "net1",
        live: true,
      });
      assert.deepEqual(pendingNet1, ["net1"]);
      const released = performance.now() + 5_000;
      while ((rig.host.context("nics").removals ?? []).length > 0) {
        assert.ok(performance.now() < released, "the guest let go of net1");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }

      // Link down, then up: set_link, and the live XML says so.
      const update = (xml: string) =>
        rig.host.changeDevice("nics", {
          action: "update",
          change: parseDeviceXml(xml),
          live: true,
        });
      await update(nicXml({ mac: nic.mac, extra: "<link state='down'/>" }));
      assert.equal(rig.host.context("nics").live!.devices.interfaces[0].link, "down");
      await update(nicXml({ mac: nic.mac, extra: "<link state='up'/>" }));
      assert.equal(rig.host.context("nics").live!.devices.interfaces[0].link, "up");
      // What libvirt does not change live is refused with its words, and nothing changes.
      const beforeRefused = (await rig.store.readAll({ afterPosition: 0 })).length;
      await expectRefusal(
        rig,
        "a model change",
        () =>
          update(
            `<interface type='user'><mac address='${nic.mac}'/><model type='e1000'/></interface>`,
          ),
        ErrorCode.OPERATION_UNSUPPORTED,
        "cannot modify network device model from virtio to e1000",
      );
      await expectRefusal(
        rig,
        "a type change",
        () => update(nicXml({ mac: nic.mac, type: "ethernet" })),
        ErrorCode.OPERATION_UNSUPPORTED,
        "unable to change config on 'ethernet' network type",
      );
      await expectRefusal(
        rig,
        "a driver change",
        () => update(nicXml({ mac: nic.mac, extra: "<driver name='qemu'/>" })),
        ErrorCode.OPERATION_UNSUPPORTED,
        "cannot modify virtio network device driver attributes",
      );
      assert.equal((await rig.store.readAll({ afterPosition: 0 })).length, beforeRefused);

      // Detach: the intent, then device_del; the guest's ACPI eject makes QEMU report it gone,
      // and its backend is removed.
      const detachStarted = performance.now();
      const pending = await rig.host.changeDevice("nics", {
        action: "detach",
        change: parseDeviceXml(nicXml({ mac: nic.mac })),
        live: true,
      });
      const detachMs = performance.now() - detachStarted;
      assert.deepEqual(pending, [], "the guest released the NIC within libvirt's 5 s");
      await rig.host.idle();
      assert.deepEqual(rig.host.context("nics").live!.devices.interfaces, []);
      const names = (await rig.store.readStream(`domain/${uuid}`)).map((entry) => entry.type);
      const requested = names.lastIndexOf("domain.device_removal_requested");
      assert.ok(requested !== -1 && names.lastIndexOf("domain.device_removed") > requested);
      assert.equal((await pciDevices(qmp)).has("net0"), false, "QEMU has no such device");
      const after = await qmp.humanMonitorCommand("info network");
      assert.doesNotMatch(after, /hostnet/, "the backends were removed");

      // A link that starts down is brought down as it is plugged; aliases count on from the
      // highest in use (none now: net0).
      await attach(nicXml({ mac: "52:54:00:00:00:02", extra: "<link state='down'/>" }));
      const downNic = rig.host.context("nics").live!.devices.interfaces[0] as NetInterface;
      assert.equal(downNic.alias, "net0");
      assert.equal(downNic.link, "down");
      assert.ok((await pciDevices(qmp)).has("net0"));

      // --config: the definition only, completed as define completes it.
      await attach(nicXml({ mac: "52:54:00:00:00:03", extra: "<link state='down'/>" }), {
        config: true,
      });
      const persistent = rig.host.context("nics").definition!.devices.interfaces;
      assert.equal(persistent.length, 1);
      assert.equal(persistent[0].mac, "52:54:00:00:00:03");
      assert.equal(persistent[0].address?.type, "pci");
      assert.equal(rig.host.context("nics").live!.devices.interfaces.length, 1, "live unchanged");
      assert.equal((await pciDevices(qmp)).has("net1"), false);

      // The next start runs it, its link brought down once QEMU runs (QMP set_link).
      await rig.host.destroy("nics");
      await rig.host.start("nics");
      const restarted = rig.host.context("nics").live!.devices.interfaces;
      assert.deepEqual(restarted.map((each) => [each.alias, each.link]), [["net0", "down"]]);
      assert.ok((await pciDevices(rig.driver.qmpOf(uuid))).has("net0"));
      const transcript = Deno.readTextFileSync(`${rig.dir}/log/nics.qmp.log`);
      assert.match(
        transcript.split("\n").slice(-200).join("\n"),
        /QUERY \{"execute":"set_link","arguments":\{"name":"net0","up":false\}/,
      );
      console.error(
        `interface hotplug figures: attach ${
          attachMs.toFixed(0)
        } ms, detach (with the guest's acknowledgement) ${detachMs.toFixed(0)} ms`,
      );
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "a NIC removal the guest finishes while the service is down is recorded after the restart, its backend removed",
  skip,
  async () => {
    const dir = searchableTempDirSync("evirt-nic-restart-");
    const started = new Set<StartedQemu>();
    let driver: QemuDriver | undefined;
    const open = async (store: EventStore) => {
      driver = await QemuDriver.create({
        runtimeDir: `${dir}/run`,
        logDir: `${dir}/log`,
        log: () => {},
      });
      const host = await Host.open({ store, drivers: [driver], log: () => {} });
      recordLaunches(host, started);
      return host;
    };
    const store = createMemoryStore();
    let host = await open(store);
    try {
      const serial = `${dir}/serial.log`;
      const definition = guestDefinition("unplugnic", { serial: { file: serial } });
      definition.os.machine = "pc";
      definition.devices.interfaces.push(
        parseDeviceXml(nicXml({ mac: "52:54:00:00:00:11" })).device as NetInterface,
      );
      await host.define(definition);
      await host.start("unplugnic");
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });
      // A paused guest cannot answer: the removal stays pending past libvirt's 5 s.
      await host.suspend("unplugnic");
      const waited = performance.now();
      const pending = await host.changeDevice("unplugnic", {
        action: "detach",
        change: parseDeviceXml(nicXml({ mac: "52:54:00:00:00:11" })),
        live: true,
      });
      assert.deepEqual(pending, ["net0"]);
      assert.ok(performance.now() - waited >= DEVICE_REMOVAL_WAIT_MS - 50, "waited libvirt's 5 s");
      const uuid = host.lookup("unplugnic").uuid;
      const runtime = host.context("unplugnic").runtime!;
      await host.close();

      // The service is down; the guest runs again and lets go of the NIC.
      const monitor = await QmpMonitor.connect(String(runtime.monitorSocket));
      try {
        const qmp = new QmpCommands(monitor);
        await qmp.cont();
        const deadline = performance.now() + 15_000;
        // Bounded by the deadline: the guest's ACPI eject takes well under a second.
        while (performance.now() < deadline) {
          const gone = await qmp.qomGet("/machine/peripheral/net0", "type").then(
            () => false,
            () => true,
          );
          if (gone) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.match(await qmp.humanMonitorCommand("info network"), /hostnet0/, "still there");
      } finally {
        await monitor.close();
      }

      const before = (await loggedEvents(store)).length;
      host = await open(store);
      await host.idle();
      const context = host.context("unplugnic");
      assert.deepEqual(context.removals, []);
      assert.deepEqual(context.live!.devices.interfaces, []);
      assert.ok(
        (await loggedEvents(store)).slice(before).includes("device-removed"),
        "DEVICE_REMOVED after the restart",
      );
      const network = await driver!.qmpOf(uuid).humanMonitorCommand("info network");
      assert.doesNotMatch(network, /hostnet0/, "its backend was removed after the restart");
    } finally {
      await host.close();
      await killAll(started);
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

testIf(
  "on q35 a NIC takes the spare root port; with none left, libvirt's refusal and nothing changes",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      const serial = `${rig.dir}/serial.log`;
      await rig.host.define(guestDefinition("q35nic", { serial: { file: serial } }));
      await rig.host.start("q35nic");
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });
      const qmp = rig.driver.qmpOf(rig.host.lookup("q35nic").uuid);
      const attach = () =>
        rig.host.changeDevice("q35nic", {
          action: "attach",
          change: parseDeviceXml(nicXml()),
          live: true,
        });
      // Live and persistent at once, no MAC given: one MAC made for both.
      await rig.host.changeDevice("q35nic", {
        action: "attach",
        change: parseDeviceXml(nicXml()),
        live: true,
        config: true,
      });
      const nic = rig.host.context("q35nic").live!.devices.interfaces[0];
      assert.ok((nic.address?.bus ?? 0) > 0, "behind a root port");
      const saved = rig.host.context("q35nic").definition!.devices.interfaces;
      assert.equal(saved.length, 1);
      assert.match(saved[0].mac ?? "", /^52:54:00:/);
      assert.equal(saved[0].mac, nic.mac, "the same MAC live and persistent");
      const before = (await rig.store.readAll({ afterPosition: 0 })).length;
      await expectRefusal(
        rig,
        "no free slot",
        attach,
        ErrorCode.INTERNAL_ERROR,
        "No more available PCI slots",
      );
      assert.equal((await rig.store.readAll({ afterPosition: 0 })).length, before);
      assert.doesNotMatch(await qmp.humanMonitorCommand("info network"), /hostnet1/);
    } finally {
      await rig.close();
    }
  },
);

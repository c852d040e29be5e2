/**
 * Every name define accepts can start on real QEMU: the longest (247 bytes, libvirt's limit),
 * the longest once the QEMU driver escapes it for its log file names, and one of spaces. Every
 * QEMU started is killed by pid in `finally` (the rig's teardown).
 */

import assert from "node:assert/strict";
import { logFileNameFits } from "../../drivers/qemu/qemu_log_file.ts";
import { type DomainDefinition, emptyDevices } from "../../src/model/domain.ts";
import { validateDomain } from "../../src/xml/validate_domain.ts";
import { missing, testIf } from "../support/environment.ts";
import { openQemuRig } from "./_qemu_guest.ts";

/** A domain that starts without a guest: firmware only, no disk, stopped right after start. */
function bareDefinition(name: string, index: number): DomainDefinition {
  const devices = emptyDevices();
  devices.memballoon = { model: "none" };
  return {
    type: "qemu",
    name,
    uuid: `00000000-0000-4000-9000-0000000000${index.toString(16).padStart(2, "0")}`,
    memoryKiB: 64 * 1024,
    vcpus: 1,
    os: { type: "hvm", machine: "q35", boot: [] },
    onPoweroff: "destroy",
    onReboot: "restart",
    onCrash: "destroy",
    devices,
  };
}

testIf(
  "QemuDriver starts the longest names define accepts",
  missing("qemu-system-x86_64"),
  async () => {
    const rig = await openQemuRig();
    try {
      const names = [
        "y".repeat(247),
        // 82 two-byte characters: 246 bytes escaped, the most the log file names hold.
        "é".repeat(82),
        " ",
      ];
      for (const [index, name] of names.entries()) {
        assert.ok(logFileNameFits(name));
        const definition = bareDefinition(name, index);
        validateDomain(definition);
        await rig.host.define(definition);
        await rig.host.start(name);
        assert.equal(rig.stateText(name), "running (booted)");
        await rig.host.destroy(name);
        assert.equal(rig.stateText(name), "shut off (destroyed)");
      }
    } finally {
      await rig.close();
    }
  },
);

/**
 * The daily verbs on a real QEMU guest: `send-key`, `screenshot` (QMP screendump), the monitor
 * pass-through with its taint note in the domain's log, the guest agent's errors (no channel:
 * 74; a channel nobody answers on: 86) and `domrename` refused while running. Every QEMU
 * started is killed by pid when the rig closes.
 */

import assert from "node:assert/strict";
import { agentCommand, monitorCommand, screenshot, sendKey } from "../../actors/guest_commands.ts";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { missing, testIf } from "../support/environment.ts";
import { GUEST_BOOT_TIMEOUT_MS, GUEST_READY_MARKER, guestSkipReason } from "../support/guest.ts";
import { guestDefinition, openQemuRig } from "./_qemu_guest.ts";

/** The test guest with a VGA display and, if asked, a guest agent channel. */
function displayGuest(
  name: string,
  agent: boolean,
  serial: { file: string } | "pty" = "pty",
): DomainDefinition {
  const definition = guestDefinition(name, { serial });
  definition.devices.videos.push({ model: { type: "vga" } });
  if (agent) {
    definition.devices.channels.push({
      type: "unix",
      sources: [],
      target: { type: "virtio", name: "org.qemu.guest_agent.0" },
    });
  }
  return definition;
}

const signal = () => AbortSignal.timeout(20_000);

/** Waits until the guest's serial log shows it is ready for ACPI. */
async function waitForMarker(path: string): Promise<void> {
  const deadline = Date.now() + GUEST_BOOT_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const text = await Deno.readTextFile(path).catch(() => "");
    if (text.includes(GUEST_READY_MARKER)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no ${GUEST_READY_MARKER} in ${path}`);
}

testIf(
  "QEMU: send-key, screenshot and the monitor pass-through work on a running guest",
  guestSkipReason() ?? missing("qemu-system-x86_64"),
  async () => {
    const rig = await openQemuRig();
    try {
      await rig.host.define(displayGuest("daily", false));
      await rig.host.start("daily");
      const inspect = () => rig.host.inspect("daily");

      await sendKey(
        inspect(),
        { codeset: "linux", codes: [29, 56, 111], holdTimeMs: 50 },
        signal(),
      );
      await sendKey(inspect(), { codeset: "usb", codes: [4], holdTimeMs: 0 }, signal());
      await assert.rejects(
        sendKey(inspect(), { codeset: "linux", codes: [999], holdTimeMs: 0 }, signal()),
        /invalid keycode 999 of linux codeset/,
      );

      const image = await screenshot(inspect(), 0, signal());
      assert.equal(image.mime, "image/x-portable-pixmap");
      assert.equal(new TextDecoder().decode(image.data.subarray(0, 3)), "P6\n");
      assert.deepEqual(
        [...Deno.readDirSync(String(rig.host.context("daily").runtime!.runtimeDir))]
          .filter((entry) => entry.name.startsWith("screenshot-")),
        [],
      );

      const status = JSON.parse(
        await monitorCommand(inspect(), '{"execute":"query-status"}', { hmp: false }, signal()),
      );
      assert.equal(status.return.status, "running");
      const refused = JSON.parse(
        await monitorCommand(inspect(), '{"execute":"no-such-command"}', { hmp: false }, signal()),
      );
      assert.equal(refused.error.class, "CommandNotFound");
      const hmp = await monitorCommand(inspect(), "info status", { hmp: true }, signal());
      assert.match(hmp, /VM status: running/);
      await assert.rejects(
        monitorCommand(inspect(), "not json", { hmp: false }, signal()),
        /cannot parse json not json/,
      );

      const logPath = String(rig.host.context("daily").runtime!.logPath);
      const taints = (await Deno.readTextFile(logPath)).split("\n")
        .filter((line) => line.includes("is tainted: custom-monitor"));
      const id = rig.host.context("daily").id;
      assert.equal(taints.length, 1, "tainted once per instance");
      assert.match(
        taints[0],
        new RegExp(
          `^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\+0000: Domain id=${id} is tainted: custom-monitor$`,
        ),
      );

      await assert.rejects(
        agentCommand(inspect(), '{"execute":"guest-ping"}', 1, signal()),
        (error: unknown) =>
          isVirtError(error, 74) && /not configured/.test((error as Error).message),
      );
      await assert.rejects(
        rig.host.command("shutdown", "daily", { mode: { acpi: false, agent: true } }),
        (error: unknown) => isVirtError(error, 74),
      );
      await assert.rejects(
        rig.host.command("rename", "daily", { newName: "renamed" }),
        (error: unknown) =>
          isVirtError(error, 55) && (error as Error).message === "cannot rename active domain",
      );
      assert.equal(rig.stateText("daily"), "running (booted)");
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "QEMU: an agent channel nobody answers on gives code 86; agent-or-ACPI shutdown falls back to ACPI",
  guestSkipReason() ?? missing("qemu-system-x86_64"),
  async () => {
    const rig = await openQemuRig();
    try {
      const serialPath = `${rig.dir}/agentless-serial.log`;
      await rig.host.define(displayGuest("agentless", true, { file: serialPath }));
      await rig.host.start("agentless");
      await assert.rejects(
        agentCommand(rig.host.inspect("agentless"), '{"execute":"guest-ping"}', 1, signal()),
        (error: unknown) => isVirtError(error, 86),
      );
      // Agent only: the reboot is refused (86), nothing happens to the guest, its intent ends.
      await assert.rejects(
        rig.host.command("reboot", "agentless", { mode: { acpi: false, agent: true } }),
        (error: unknown) => isVirtError(error, 86),
      );
      assert.equal(rig.stateText("agentless"), "running (booted)");
      assert.equal(rig.host.context("agentless").intent, null);
      // The guest runs no agent: with ACPI allowed, the shutdown request still reaches it (once
      // the guest listens for the power button).
      await waitForMarker(serialPath);
      await rig.host.command("shutdown", "agentless", { mode: { acpi: true, agent: true } });
      await rig.host.waitFor(
        rig.host.lookup("agentless").uuid,
        (summary) => !summary.active,
        30_000,
      );
      assert.equal(rig.stateText("agentless"), "shut off (shutdown)");
    } finally {
      await rig.close();
    }
  },
);

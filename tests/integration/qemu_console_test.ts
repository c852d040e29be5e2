/**
 * The console of a running guest (`evirt console`): the pty the runtime record names carries the
 * guest's serial console both ways, and Ctrl-] ends the session. Every QEMU started is killed
 * by pid in `finally`.
 */

import assert from "node:assert/strict";
import { CONSOLE_ESCAPE_BYTE, relayConsole } from "../../src/cli/console_relay.ts";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import { missing, testIf } from "../support/environment.ts";
import { GUEST_BOOT_TIMEOUT_MS, GUEST_READY_MARKER, guestSkipReason } from "../support/guest.ts";
import { guestDefinition, openQemuRig } from "./_qemu_guest.ts";

/** Largest console output kept by the test, in characters. */
const SCREEN_MAX_CHARS = 1024 * 1024;

testIf(
  "QemuDriver's pty console shows the guest booting and Ctrl-] ends the session",
  guestSkipReason() ?? missing("qemu-system-x86_64"),
  async () => {
    const rig = await openQemuRig();
    let pty: Deno.FsFile | undefined;
    try {
      await rig.host.define(guestDefinition("talker", { serial: "pty" }));
      // Started paused, so the console is attached before the guest prints anything.
      await rig.host.start("talker", { paused: true });
      const paths = QemuDriver.ptyPaths(rig.host.context("talker").runtime!);
      assert.equal(paths.console, paths.serial0);
      pty = await Deno.open(paths.console, { read: true, write: true });
      let screen = "";
      let sawReady: () => void = () => {};
      const ready = new Promise<void>((resolve) => sawReady = resolve);
      const keyboard = new TransformStream<Uint8Array, Uint8Array>();
      const session = relayConsole({
        device: { readable: pty.readable, writable: pty.writable },
        terminal: {
          input: keyboard.readable,
          output: new WritableStream({
            write(chunk) {
              screen = (screen + new TextDecoder().decode(chunk)).slice(-SCREEN_MAX_CHARS);
              if (screen.includes(GUEST_READY_MARKER)) sawReady();
            },
          }),
        },
      });
      await rig.host.resume("talker");
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        ready,
        new Promise((_, reject) =>
          timer = setTimeout(
            () =>
              reject(new Error(`no ${GUEST_READY_MARKER} on the console: ${screen.slice(-400)}`)),
            GUEST_BOOT_TIMEOUT_MS,
          )
        ),
      ]);
      clearTimeout(timer);
      const writer = keyboard.writable.getWriter();
      await writer.write(new Uint8Array([CONSOLE_ESCAPE_BYTE]));
      assert.equal(await session, "escape");
      pty = undefined;
      await rig.host.destroy("talker");
    } finally {
      try {
        pty?.close();
      } catch {
        // Closed by the relay.
      }
      await rig.close();
    }
  },
);

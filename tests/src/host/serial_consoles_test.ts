/**
 * SerialConsoles over an in-memory device (the real pty is exercised by
 * `tests/integration/web_console_qemu_test.ts` with a QEMU guest).
 */

import assert from "node:assert/strict";
import { consoleRig as rig, Screen } from "../../support/fake_console.ts";
import { SerialConsoles } from "../../../src/host/serial_consoles.ts";
import { isVirtError } from "../../../src/model/errors.ts";

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("SerialConsoles: one reader feeds every session; the writer's bytes reach the device", async () => {
  const { device, opened, consoles } = rig();
  const writerScreen = new Screen();
  const viewerScreen = new Screen();
  const writer = await consoles.attach(
    "u1",
    "/dev/pts/9",
    { writer: true, force: false },
    writerScreen,
  );
  await consoles.attach("u1", "/dev/pts/9", { writer: false, force: false }, viewerScreen);
  assert.deepEqual(opened, ["/dev/pts/9"]);
  device.print("login: ");
  await settle();
  assert.equal(writerScreen.text, "login: ");
  assert.equal(viewerScreen.text, "login: ");
  await writer.write(new TextEncoder().encode("root\r"));
  assert.equal(new TextDecoder().decode(new Uint8Array(device.written)), "root\r");
});

Deno.test("SerialConsoles: a second writer is refused with code 9 unless it forces, which ends the first", async () => {
  const { device, consoles } = rig();
  const first = new Screen();
  const firstSession = await consoles.attach("u1", "/p", { writer: true, force: false }, first);
  await assert.rejects(
    consoles.attach("u1", "/p", { writer: true, force: false }, new Screen()),
    (error) => {
      assert.ok(isVirtError(error));
      assert.equal(error.code, 9);
      assert.equal(error.message, "Active console session exists for this domain");
      return true;
    },
  );
  assert.equal(first.ended, undefined);
  const second = await consoles.attach("u1", "/p", { writer: true, force: true }, new Screen());
  assert.equal(first.ended, "replaced");
  // The replaced session's writes go nowhere; the new one's arrive.
  await firstSession.write(new Uint8Array([0x61]));
  await second.write(new Uint8Array([0x62]));
  assert.deepEqual(device.written, [0x62]);
  // Once the writer lets go, another may write without forcing.
  second.detach();
  await consoles.attach("u1", "/p", { writer: true, force: false }, new Screen());
});

Deno.test("SerialConsoles: a viewer's write is refused with code 29 and reaches nothing", async () => {
  const { device, consoles } = rig();
  const viewer = await consoles.attach("u1", "/p", { writer: false, force: true }, new Screen());
  await assert.rejects(viewer.write(new Uint8Array([0x61])), (error) => {
    assert.ok(isVirtError(error));
    assert.equal(error.code, 29);
    return true;
  });
  assert.deepEqual(device.written, []);
});

Deno.test("SerialConsoles: the device's end ends every session and closes it; the next attach opens anew", async () => {
  const { device, opened, consoles } = rig();
  const screens = [new Screen(), new Screen()];
  await consoles.attach("u1", "/p", { writer: true, force: false }, screens[0]);
  await consoles.attach("u1", "/p", { writer: false, force: false }, screens[1]);
  device.print(null);
  await settle();
  assert.deepEqual(screens.map((screen) => screen.ended), ["ended", "ended"]);
  assert.equal(device.closed, true);
  assert.equal(consoles.size, 0);
  await consoles.attach("u1", "/p", { writer: true, force: false }, new Screen());
  assert.equal(opened.length, 2);
});

Deno.test("SerialConsoles: the service's shutdown ends every session", async () => {
  const { device, shutdown, consoles } = rig();
  const screen = new Screen();
  await consoles.attach("u1", "/p", { writer: true, force: false }, screen);
  shutdown.abort();
  assert.equal(screen.ended, "shutdown");
  assert.equal(device.closed, true);
});

Deno.test("SerialConsoles: a pty that cannot be opened is code 9 with its path", async () => {
  const consoles = new SerialConsoles(
    new AbortController().signal,
    () => Promise.reject(new Error("No such file or directory")),
  );
  await assert.rejects(
    consoles.attach("u1", "/dev/pts/77", { writer: true, force: false }, new Screen()),
    /cannot open console '\/dev\/pts\/77': No such file or directory/,
  );
  assert.equal(consoles.size, 0);
});

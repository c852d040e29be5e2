/**
 * `virDomainOpenConsole`'s stream over the shared serial consoles (an in-memory device): it is a
 * writer beside the web console's sessions, under the same one-writer rule.
 */

import assert from "node:assert/strict";
import { consoleRig, Screen } from "../../support/fake_console.ts";
import { CONSOLE_STREAM_QUEUE_MAX, consoleStream } from "../../../src/rpc/console_stream.ts";
import { isVirtError } from "../../../src/model/errors.ts";

const PTY = "/dev/pts/9";
const text = (bytes: Uint8Array | number | null | undefined) =>
  bytes instanceof Uint8Array ? new TextDecoder().decode(bytes) : String(bytes);

Deno.test("consoleStream: reads the device's output, writes to it, and ends with the device", async () => {
  const { device, consoles } = consoleRig();
  const stream = await consoleStream(consoles, "u1", PTY, false);
  device.print("login: ");
  assert.equal(text(await stream.read!()), "login: ");
  await stream.write(new TextEncoder().encode("root\r"));
  assert.equal(new TextDecoder().decode(new Uint8Array(device.written)), "root\r");
  device.print(null);
  assert.equal(await stream.read!(), null);
  stream.close();
});

Deno.test("consoleStream: refused with code 9 while a web writer holds the console; force takes it over", async () => {
  const { device, consoles } = consoleRig();
  const web = new Screen();
  const webSession = await consoles.attach("u1", PTY, { writer: true, force: false }, web);
  await assert.rejects(consoleStream(consoles, "u1", PTY, false), (error) => {
    assert.ok(isVirtError(error));
    assert.equal(error.code, 9);
    assert.equal(error.message, "Active console session exists for this domain");
    return true;
  });
  // Nothing changed: the web session still writes.
  await webSession.write(new TextEncoder().encode("a"));
  assert.deepEqual(device.written, [0x61]);
  const forced = await consoleStream(consoles, "u1", PTY, true);
  assert.equal(web.ended, "replaced");
  await webSession.write(new TextEncoder().encode("b"));
  await forced.write(new TextEncoder().encode("c"));
  assert.deepEqual(device.written, [0x61, 0x63]);
  // While the RPC stream holds it, a web writer is refused in turn; after its close, not.
  await assert.rejects(
    consoles.attach("u1", PTY, { writer: true, force: false }, new Screen()),
    /Active console session exists for this domain/,
  );
  forced.close();
  assert.equal(await forced.read!(), null);
  const again = await consoles.attach("u1", PTY, { writer: true, force: false }, new Screen());
  again.detach();
});

Deno.test("consoleStream: a forcing web writer ends the RPC stream", async () => {
  const { device, consoles } = consoleRig();
  const stream = await consoleStream(consoles, "u1", PTY, false);
  device.print("x");
  await new Promise((resolve) => setTimeout(resolve, 0));
  const web = await consoles.attach("u1", PTY, { writer: true, force: true }, new Screen());
  assert.equal(text(await stream.read!()), "x");
  assert.equal(await stream.read!(), null);
  web.detach();
  stream.close();
});

Deno.test("consoleStream: a client that does not read ends its stream at the queue's bound", async () => {
  const { device, consoles } = consoleRig();
  const stream = await consoleStream(consoles, "u1", PTY, false);
  for (let index = 0; index <= CONSOLE_STREAM_QUEUE_MAX; index++) {
    device.print("y");
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  for (let index = 0; index < CONSOLE_STREAM_QUEUE_MAX; index++) {
    assert.equal(text(await stream.read!()), "y");
  }
  await assert.rejects(stream.read!(), /the console's output is not read fast enough/);
  // Its place as the writer is free again.
  const web = await consoles.attach("u1", PTY, { writer: true, force: false }, new Screen());
  web.detach();
  stream.close();
});

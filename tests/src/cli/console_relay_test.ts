import assert from "node:assert/strict";
import { CONSOLE_ESCAPE_BYTE, relayConsole } from "../../../src/cli/console_relay.ts";

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += new TextDecoder().decode(chunk);
  return text;
}

/** A device whose output is `output` and whose input is collected, and a terminal likewise. */
function ends(deviceOutput: ReadableStream<Uint8Array>, keyboard: ReadableStream<Uint8Array>) {
  const toDevice = new TransformStream<Uint8Array, Uint8Array>();
  const toScreen = new TransformStream<Uint8Array, Uint8Array>();
  return {
    relay: {
      device: { readable: deviceOutput, writable: toDevice.writable },
      terminal: { input: keyboard, output: toScreen.writable },
    },
    typed: toDevice,
    screen: toScreen,
  };
}

Deno.test("relayConsole sends typed bytes before Ctrl-] to the guest and ends with escape", async () => {
  const keyboard = ReadableStream.from([
    bytes("ls\r"),
    new Uint8Array([0x71, CONSOLE_ESCAPE_BYTE, 0x72]),
  ]);
  const { relay, typed } = ends(new ReadableStream(), keyboard);
  const received = collect(typed.readable);
  assert.equal(await relayConsole(relay), "escape");
  await typed.writable.close();
  assert.equal(await received, "ls\rq");
});

Deno.test("relayConsole shows the guest's output and ends when the device closes", async () => {
  const device = ReadableStream.from([bytes("GUEST-READY\r\n"), bytes("$ ")]);
  const { relay, screen } = ends(device, new ReadableStream());
  const shown = collect(screen.readable);
  assert.equal(await relayConsole(relay), "closed");
  await screen.writable.close();
  assert.equal(await shown, "GUEST-READY\r\n$ ");
});

Deno.test("relayConsole ends with aborted when its signal fires", async () => {
  const controller = new AbortController();
  const { relay } = ends(new ReadableStream(), new ReadableStream());
  const end = relayConsole(relay, controller.signal);
  controller.abort();
  assert.equal(await end, "aborted");
});

/**
 * Child process of rpc_bench.ts: opens COUNT libvirt-protocol connections to SOCKET, registers a
 * lifecycle callback on each, reads TARGET lifecycle messages per connection, and writes when
 * each connection received each message (ms on the shared clock, `performance.timeOrigin +
 * performance.now()`) to OUT as little-endian float64s, connection after connection.
 *
 * Usage: _rpc_subscribers.ts SOCKET COUNT TARGET OUT
 *
 * It prints `ready` once every callback is registered.
 *
 * @module
 */

import { RpcTestClient } from "../tests/support/rpc_client.ts";

/** The new-style lifecycle message's procedure. */
const LIFECYCLE_CALLBACK_PROC = 318;
/** Longest wait for all messages, in ms. */
const RECEIVE_TIMEOUT_MS = 300_000;

const [socketPath, countText, targetText, outPath] = Deno.args;
const count = Number(countText);
const target = Number(targetText);
const clients = await Promise.all(
  Array.from({ length: count }, () => RpcTestClient.connect(socketPath)),
);
for (const client of clients) {
  await client.call("virConnectOpen", { name: "qemu:///system", flags: 0 });
  await client.call("virConnectDomainEventCallbackRegisterAny", { eventID: 0, dom: null });
}
console.log("ready");
const received = new Float64Array(count * target);
await Promise.all(clients.map(async (client, index) => {
  // Only lifecycle messages arrive on these connections (no keepalive is asked for).
  await client.waitForMessages((messages) => messages.length >= target, RECEIVE_TIMEOUT_MS);
  const lifecycle = client.messages.filter((packet) =>
    packet.header.proc === LIFECYCLE_CALLBACK_PROC
  );
  if (lifecycle.length < target) throw new Error(`connection ${index}: other messages arrived`);
  lifecycle.slice(0, target).forEach((packet, k) => {
    received[index * target + k] = performance.timeOrigin + packet.receivedAtMs;
  });
  await client.close();
}));
await Deno.writeFile(outPath, new Uint8Array(received.buffer));

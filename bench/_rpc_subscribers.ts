/**
 * Child process of rpc_bench.ts: opens COUNT libvirt-protocol connections to SOCKET, registers a
 * lifecycle callback on each, reads TARGET lifecycle messages per connection, and writes when
 * each connection received each message (ms on the shared clock, `performance.timeOrigin +
 * performance.now()`) to OUT as little-endian float64s, connection after connection.
 *
 * Usage: _rpc_subscribers.ts SOCKET COUNT TARGET OUT
 *
 * It prints `ready` once every callback is registered. After that it only splits frames and
 * reads each header's procedure, stamping every message of a read with the time of that read, as
 * the SSE child does with its chunks: the figure is the server's, not a client library's.
 *
 * @module
 */

import { encodePacket, PacketReader } from "../src/rpc/packet.ts";
import { RPC_PROCEDURES } from "../src/rpc/procedures.ts";
import {
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
} from "../src/rpc/protocol.ts";
import { encodeXdr } from "../src/rpc/xdr.ts";

/** The new-style lifecycle message's procedure. */
const LIFECYCLE_CALLBACK_PROC = 318;
/** Longest wait for all messages, in ms. */
const RECEIVE_TIMEOUT_MS = 300_000;
/** Bytes read at once. */
const READ_BYTES = 262_144;

const [socketPath, countText, targetText, outPath] = Deno.args;
const count = Number(countText);
const target = Number(targetText);
const received = new Float64Array(count * target);

/** Calls a procedure and waits for its reply (nothing else arrives before registration). */
async function call(conn: Deno.UnixConn, serial: number, api: string, args: unknown) {
  const procedure = RPC_PROCEDURES[api];
  const packet = encodePacket({
    prog: REMOTE_PROGRAM,
    vers: REMOTE_PROTOCOL_VERSION,
    proc: procedure.proc,
    type: MessageType.CALL,
    serial,
    status: MessageStatus.OK,
  }, encodeXdr(procedure.args, args));
  for (let written = 0; written < packet.length;) {
    written += await conn.write(packet.subarray(written));
  }
  const reader = new PacketReader();
  const buffer = new Uint8Array(4096);
  for (;;) {
    const read = await conn.read(buffer);
    if (read === null) throw new Error(`${api}: connection closed`);
    reader.push(buffer.slice(0, read));
    const reply = reader.next();
    if (reply === undefined) continue;
    if (reply.header.status !== MessageStatus.OK) throw new Error(`${api} failed`);
    return;
  }
}

/** Opens one connection and registers its lifecycle callback. */
async function subscribe(): Promise<Deno.UnixConn> {
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  await call(conn, 1, "virConnectOpen", { name: "qemu:///system", flags: 0 });
  await call(conn, 2, "virConnectDomainEventCallbackRegisterAny", { eventID: 0, dom: null });
  return conn;
}

/** Reads lifecycle messages until `target` arrived, stamping each with its read's time. */
async function receive(conn: Deno.UnixConn, index: number): Promise<void> {
  const buffer = new Uint8Array(READ_BYTES);
  let pending = new Uint8Array(0);
  let seen = 0;
  while (seen < target) {
    const read = await conn.read(buffer);
    const now = performance.timeOrigin + performance.now();
    if (read === null) throw new Error(`connection ${index} closed after ${seen} messages`);
    const bytes = new Uint8Array(pending.length + read);
    bytes.set(pending);
    bytes.set(buffer.subarray(0, read), pending.length);
    const view = new DataView(bytes.buffer);
    let offset = 0;
    while (bytes.length - offset >= 16) {
      const length = view.getUint32(offset);
      if (bytes.length - offset < length) break;
      if (view.getInt32(offset + 12) !== LIFECYCLE_CALLBACK_PROC) {
        throw new Error(`connection ${index}: another message arrived`);
      }
      if (seen < target) received[index * target + seen] = now;
      seen++;
      offset += length;
    }
    pending = bytes.slice(offset);
  }
  conn.close();
}

const conns = [];
for (let index = 0; index < count; index++) conns.push(await subscribe());
console.log("ready");
const timeout = AbortSignal.timeout(RECEIVE_TIMEOUT_MS);
await Promise.race([
  Promise.all(conns.map((conn, index) => receive(conn, index))),
  new Promise((_, reject) =>
    timeout.addEventListener("abort", () => reject(new Error("messages not all received")))
  ),
]);
await Deno.writeFile(outPath, new Uint8Array(received.buffer));
Deno.exit(0);

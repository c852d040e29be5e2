/**
 * Fuzzing the real service's libvirt-protocol socket: valid frames with corrupted bodies and
 * headers, wrong lengths, and random bytes, in batches over many connections. The service must
 * answer or close each connection, never crash, keep serving well-behaved clients, and keep its
 * resident memory bounded. Sizes: `EVIRT_RPC_FUZZ_PACKETS` (default 20,000),
 * `EVIRT_RPC_FUZZ_SEED`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { encodePacket } from "../../src/rpc/packet.ts";
import { RPC_PROCEDURES } from "../../src/rpc/procedures.ts";
import {
  KEEPALIVE_PROGRAM,
  MessageType,
  REMOTE_PROGRAM,
  uuidBytes,
} from "../../src/rpc/protocol.ts";
import { encodeXdr } from "../../src/rpc/xdr.ts";
import { RpcTestClient } from "../support/rpc_client.ts";
import { seededRandom } from "../support/seeded_random.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";

const PACKETS = Number(Deno.env.get("EVIRT_RPC_FUZZ_PACKETS") ?? "20000");
const SEED = Number(Deno.env.get("EVIRT_RPC_FUZZ_SEED") ?? "12");
/** Packets written per connection before it is drained and closed. */
const PACKETS_PER_CONNECTION = 50;
/** Connections fuzzed at once. */
const CONNECTIONS_CONCURRENT = 8;
/** Longest wait for a connection's answers, in ms. */
const DRAIN_TIMEOUT_MS = 2000;
/** Most resident memory the service may reach, in KiB. */
const RSS_MAX_KIB = 768 * 1024;

const DOMAIN = { name: "web", uuid: uuidBytes("00000000-0000-4000-8000-000000000001"), id: -1 };
const XML = `<domain type='test'><name>fz</name><memory>65536</memory><vcpu>1</vcpu>
<os><type>hvm</type></os><devices/></domain>`;

/** Valid calls the mutations start from. */
function seeds(): Array<{ proc: number; body: Uint8Array }> {
  const call = (api: string, args: unknown) => ({
    proc: RPC_PROCEDURES[api].proc,
    body: encodeXdr(RPC_PROCEDURES[api].args, args),
  });
  return [
    call("virConnectOpen", { name: "qemu:///system", flags: 0 }),
    call("virConnectListAllDomains", { need_results: 1, flags: 0 }),
    call("virDomainLookupByName", { name: "web" }),
    call("virDomainGetState", { dom: DOMAIN, flags: 0 }),
    call("virDomainGetXMLDesc", { dom: DOMAIN, flags: 0 }),
    call("virDomainDefineXML", { xml: XML }),
    call("virConnectGetAllDomainStats", { doms: [DOMAIN], stats: 1, flags: 0 }),
    call("virConnectDomainEventCallbackRegisterAny", { eventID: 0, dom: DOMAIN }),
    call("virDomainGetBlockInfo", { dom: DOMAIN, path: "vda", flags: 0 }),
    call("virDomainSetMetadata", {
      dom: DOMAIN,
      type: 1,
      metadata: "t",
      key: null,
      uri: null,
      flags: 0,
    }),
  ];
}

/** One mutated packet (as raw bytes, possibly not even a frame). */
function mutate(next: () => number, serial: number): Uint8Array {
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)];
  const seed = pick(seeds());
  const header = {
    prog: REMOTE_PROGRAM,
    vers: 1,
    proc: seed.proc,
    type: MessageType.CALL,
    serial,
    status: 0,
  };
  const body = seed.body.slice();
  switch (Math.floor(next() * 8)) {
    case 0: // Flip bytes of the body.
      for (let count = 1 + Math.floor(next() * 4); count > 0 && body.length > 0; count--) {
        body[Math.floor(next() * body.length)] ^= 1 << Math.floor(next() * 8);
      }
      return encodePacket(header, body);
    case 1: // Truncate the body.
      return encodePacket(header, body.subarray(0, Math.floor(next() * body.length)));
    case 2: // A random procedure number.
      return encodePacket({ ...header, proc: Math.floor(next() * 500) - 10 }, body);
    case 3: // Random header words.
      return encodePacket({
        ...header,
        prog: pick([REMOTE_PROGRAM, KEEPALIVE_PROGRAM, Math.floor(next() * 2 ** 32)]),
        vers: pick([1, 0, 2, 0xffffffff]),
        type: pick([0, 1, 2, 3, 4, 5, 6, 99, -1]),
        status: pick([0, 1, 2, 7]),
      }, body);
    case 4: { // A huge array or string length word.
      const packet = encodePacket(header, body);
      if (packet.length > 32) {
        new DataView(packet.buffer).setUint32(28 + 4 * Math.floor(next() * 2), 0xfffffff0);
      }
      return packet;
    }
    case 5: { // A wrong length word (the stream is then out of step).
      const packet = encodePacket(header, body);
      new DataView(packet.buffer).setUint32(0, Math.floor(next() * 2 ** 32));
      return packet;
    }
    case 6: // Random bytes.
      return crypto.getRandomValues(new Uint8Array(1 + Math.floor(next() * 200)));
    default: // Random bytes inside a valid frame.
      return encodePacket(header, crypto.getRandomValues(new Uint8Array(Math.floor(next() * 300))));
  }
}

function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? "0");
}

Deno.test(`the service survives ${PACKETS} mutated libvirt-protocol packets with bounded memory`, async () => {
  const dirs = await serviceDirs();
  const service = await startServiceProcess(dirs);
  const socketPath = `${dirs.runtimeDir}/libvirt-sock`;
  const next = seededRandom(SEED);
  try {
    await service.client.define({ xml: XML.replace("fz", "web") });
    const pid = service.child.pid;
    const rssBefore = rssKiB(pid);
    let rssPeak = rssBefore;
    let sent = 0;
    let closedByServer = 0;
    let serial = 1;
    while (sent < PACKETS) {
      const batch: Promise<void>[] = [];
      for (let index = 0; index < CONNECTIONS_CONCURRENT && sent < PACKETS; index++) {
        const packets: Uint8Array[] = [];
        for (let count = 0; count < PACKETS_PER_CONNECTION && sent < PACKETS; count++, sent++) {
          packets.push(mutate(next, serial++));
        }
        batch.push((async () => {
          const client = await RpcTestClient.connect(socketPath);
          try {
            for (const packet of packets) await client.writeRaw(packet);
          } catch {
            // The service closed the connection while we wrote: an answer too.
          }
          await Promise.race([
            client.ended,
            new Promise((resolve) => setTimeout(resolve, DRAIN_TIMEOUT_MS)),
          ]);
          if (client.closed) closedByServer++;
          await client.close();
        })());
      }
      await Promise.all(batch);
      rssPeak = Math.max(rssPeak, rssKiB(pid));
    }
    // Still serving: a well-behaved client and the HTTP API both work.
    const client = await RpcTestClient.connect(socketPath);
    await client.call("virConnectOpen", { name: "qemu:///system", flags: 0 });
    const { dom } = await client.call("virDomainLookupByName", { name: "web" }) as {
      dom: { name: string };
    };
    assert.equal(dom.name, "web");
    await client.close();
    assert.equal((await service.client.version()).api, "v1");
    console.log(
      `fuzz: ${sent} packets, ${closedByServer} connections closed by the service, RSS ${rssBefore} → peak ${rssPeak} KiB`,
    );
    assert.ok(rssPeak < RSS_MAX_KIB, `RSS peaked at ${rssPeak} KiB`);
  } finally {
    await service.stop("SIGTERM");
    await removeServiceDirs(dirs);
  }
});

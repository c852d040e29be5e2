import assert from "node:assert/strict";
import type { EventMessage } from "../../../src/api/views.ts";
import { callbackPacket, encodedEvents, wireEventsOf } from "../../../src/rpc/event_messages.ts";
import { PacketReader } from "../../../src/rpc/packet.ts";
import { domainType, uuidBytes } from "../../../src/rpc/protocol.ts";
import { decodeXdr, x } from "../../../src/rpc/xdr.ts";

const UUID = "6695eb01-f6a4-8304-79aa-97f2502e193f";
const DOMAIN = { name: "test", uuid: uuidBytes(UUID), id: 1 };

function message(extra: Partial<EventMessage>): EventMessage {
  return {
    position: 7,
    time: "2026-01-01T00:00:00.000Z",
    domain: { uuid: UUID, name: "test" },
    fact: "domain.x",
    eventId: null,
    event: null,
    ...extra,
  };
}

function unpack(bytes: Uint8Array) {
  const reader = new PacketReader();
  reader.push(bytes);
  return reader.next()!;
}

Deno.test("wireEventsOf makes an I/O error both IO_ERROR and IO_ERROR_REASON, as libvirt emits", () => {
  const events = wireEventsOf(message({
    eventId: 6,
    event: "io-error-reason",
    data: { srcPath: "/d.img", devAlias: "virtio-disk0", action: 1, reason: "enospc" },
  }));
  assert.deepEqual(events.map((event) => event.eventId), [4, 6]);
  assert.equal(events[1].fields.reason, "enospc");
});

Deno.test("wireEventsOf adds PMSUSPEND to a PM-suspended lifecycle event and PMWAKEUP to a wakeup", () => {
  const lifecycle = (type: number, detail: number) =>
    message({
      eventId: 0,
      event: "lifecycle",
      lifecycle: { type, typeName: "", detail, detailName: "" },
    });
  assert.deepEqual(wireEventsOf(lifecycle(7, 0)).map((event) => event.eventId), [0, 12]);
  assert.deepEqual(wireEventsOf(lifecycle(7, 1)).map((event) => event.eventId), [0, 14]);
  assert.deepEqual(wireEventsOf(lifecycle(2, 4)).map((event) => event.eventId), [0, 11]);
  assert.deepEqual(wireEventsOf(lifecycle(5, 1)).map((event) => event.eventId), [0]);
  assert.deepEqual(wireEventsOf(message({ fact: "domain.launched" })), []);
});

Deno.test("encodedEvents encodes a lifecycle event once, in both styles", () => {
  const entry = {};
  let lookups = 0;
  const domain = () => {
    lookups++;
    return DOMAIN;
  };
  const lifecycle = message({
    eventId: 0,
    event: "lifecycle",
    lifecycle: { type: 5, typeName: "Stopped", detail: 1, detailName: "Destroyed" },
  });
  const [event] = encodedEvents(entry, lifecycle, domain);
  assert.equal(encodedEvents(entry, lifecycle, domain)[0], event);
  assert.equal(lookups, 1);
  const legacy = unpack(event.legacyPacket!);
  assert.equal(legacy.header.proc, 107);
  assert.equal(legacy.header.type, 2);
  assert.deepEqual(
    decodeXdr(x.struct(["dom", domainType], ["event", x.int], ["detail", x.int]), legacy.body)
      .value,
    { dom: DOMAIN, event: 5, detail: 1 },
  );
  const callback = unpack(callbackPacket(event, 42));
  assert.equal(callback.header.proc, 318);
  assert.deepEqual(
    decodeXdr(
      x.struct(["callbackID", x.int], [
        "msg",
        x.struct(["dom", domainType], ["event", x.int], ["detail", x.int]),
      ]),
      callback.body,
    ).value,
    { callbackID: 42, msg: { dom: DOMAIN, event: 5, detail: 1 } },
  );
});

Deno.test("callbackPacket puts the reason between callback id and body for PM events", () => {
  const [, suspend] = encodedEvents(
    {},
    message({
      eventId: 0,
      event: "lifecycle",
      lifecycle: { type: 7, typeName: "", detail: 0, detailName: "" },
    }),
    () => DOMAIN,
  );
  const packet = unpack(callbackPacket(suspend, 3));
  assert.equal(packet.header.proc, 330);
  assert.deepEqual(
    decodeXdr(
      x.struct(["callbackID", x.int], ["reason", x.int], ["msg", x.struct(["dom", domainType])]),
      packet.body,
    ).value,
    { callbackID: 3, reason: 0, msg: { dom: DOMAIN } },
  );
});

Deno.test("the metadata change event exists only with callback ids", () => {
  const [event] = encodedEvents(
    {},
    message({ eventId: 23, event: "metadata-change", data: { type: 1 } }),
    () => DOMAIN,
  );
  assert.equal(event.legacyPacket, undefined);
  const packet = unpack(callbackPacket(event, 9));
  assert.equal(packet.header.proc, 379);
  assert.deepEqual(
    decodeXdr(
      x.struct(["callbackID", x.int], ["dom", domainType], ["type", x.int], [
        "nsuri",
        x.optional(x.string(100)),
      ]),
      packet.body,
    ).value,
    { callbackID: 9, dom: DOMAIN, type: 1, nsuri: null },
  );
});

Deno.test("wireEventsOf makes a block job event both BLOCK_JOB (path) and BLOCK_JOB_2 (target)", () => {
  const events = wireEventsOf(message({
    eventId: 16,
    event: "block-job-2",
    data: { disk: "vda", path: "/i/top.qcow2", type: 4, status: 3 },
  }));
  assert.deepEqual(events, [
    { eventId: 8, fields: { path: "/i/top.qcow2", type: 4, status: 3 } },
    { eventId: 16, fields: { dst: "vda", type: 4, status: 3 } },
  ]);
});

Deno.test("encodedEvents sends BLOCK_JOB_2 flat, callback id first, as remote_domain_event_block_job_2_msg", () => {
  const entry = message({
    eventId: 16,
    event: "block-job-2",
    data: { disk: "vda", path: "/i/top.qcow2", type: 2, status: 0 },
  });
  const encoded = encodedEvents({}, entry, () => DOMAIN);
  assert.deepEqual(encoded.map((event) => [event.eventId, event.callbackProc]), [[8, 326], [
    16,
    339,
  ]]);
  assert.equal(encoded[1].legacyPacket, undefined, "BLOCK_JOB_2 exists only with callback ids");
  const packet = unpack(callbackPacket(encoded[1], 5));
  assert.equal(packet.header.proc, 339);
  const body = decodeXdr(
    x.struct(["callbackID", x.int], ["dom", domainType], ["dst", x.string(4096)], ["type", x.int], [
      "status",
      x.int,
    ]),
    packet.body,
  ).value as { callbackID: number; dst: string; type: number; status: number };
  assert.deepEqual([body.callbackID, body.dst, body.type, body.status], [5, "vda", 2, 0]);
});

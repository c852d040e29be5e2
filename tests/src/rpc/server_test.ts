import assert from "node:assert/strict";
import { encodePacket, type Packet } from "../../../src/rpc/packet.ts";
import {
  KEEPALIVE_PROGRAM,
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  uuidText,
  type WireDomain,
} from "../../../src/rpc/protocol.ts";
import { RPC_PROCEDURES } from "../../../src/rpc/procedures.ts";
import { type RpcServer, serveRpc } from "../../../src/rpc/server.ts";
import { encodeXdr, x } from "../../../src/rpc/xdr.ts";
import { EVENT_STREAM_DEFAULTS } from "../../../src/service/service.ts";
import { errorOf, RpcReplyError, RpcTestClient } from "../../support/rpc_client.ts";
import { type SocketService, startSocketService } from "../../support/socket_service.ts";
import { TEST_NODE_INFO } from "../../../drivers/test/test_driver.ts";
import { openTestHypervisor } from "../../../src/service/test_hypervisor.ts";

const XML = `<domain type='test'><name>web</name><memory>65536</memory><vcpu>1</vcpu>
<os><type>hvm</type></os><devices/></domain>`;

interface Rig {
  service: SocketService;
  rpc: RpcServer;
  socketPath: string;
  readOnlySocketPath: string;
  logs: string[];
  stop(): Promise<void>;
}

async function rig(
  options: { stallMs?: number; outgoingBytesMax?: number; connectionsMax?: number } = {},
): Promise<Rig> {
  const service = await startSocketService();
  const logs: string[] = [];
  const socketPath = `${service.dir}/libvirt-sock`;
  const readOnlySocketPath = `${service.dir}/libvirt-sock-ro`;
  const rpc = await serveRpc({
    socketPath,
    readOnlySocketPath,
    service: {
      host: service.core.host,
      hub: service.core.hub,
      events: { ...EVENT_STREAM_DEFAULTS, subscriberStallMs: options.stallMs ?? 30_000 },
      xmlMaxBytes: 65536,
      hostname: () => "evirt-test",
      nodeInfo: () => TEST_NODE_INFO,
      openTestHypervisor: () => openTestHypervisor({ xmlMaxBytes: 65536, log: () => {} }),
    },
    ...(options.connectionsMax === undefined ? {} : { connectionsMax: options.connectionsMax }),
    ...(options.outgoingBytesMax === undefined
      ? {}
      : { limits: { outgoingBytesMax: options.outgoingBytesMax } }),
    log: (message) => logs.push(message),
  });
  return {
    service,
    rpc,
    socketPath,
    readOnlySocketPath,
    logs,
    async stop() {
      await rpc.shutdown();
      await service.stop();
    },
  };
}

async function openClient(path: string, uri = "qemu:///system"): Promise<RpcTestClient> {
  const client = await RpcTestClient.connect(path);
  await client.call("virConnectAuthList");
  await client.call("virConnectOpen", { name: uri, flags: 0 });
  return client;
}

async function rejectsWithCode(promise: Promise<unknown>, code: number, message?: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof RpcReplyError, String(error));
    assert.equal(error.code, code, error.message);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

Deno.test("serveRpc gives libvirt-sock mode 0660 and libvirt-sock-ro mode 0666", async () => {
  const r = await rig();
  try {
    assert.equal((await Deno.stat(r.socketPath)).mode! & 0o777, 0o660);
    assert.equal((await Deno.stat(r.readOnlySocketPath)).mode! & 0o777, 0o666);
  } finally {
    await r.stop();
  }
});

Deno.test("an RPC client opens qemu:///system, defines, lists and looks up a domain", async () => {
  const r = await rig();
  const client = await openClient(r.socketPath);
  try {
    const defined = await client.call("virDomainDefineXML", { xml: XML }) as { dom: WireDomain };
    assert.equal(defined.dom.name, "web");
    assert.equal(defined.dom.id, -1);
    const listed = await client.call("virConnectListAllDomains", { need_results: 1, flags: 0 }) as {
      domains: WireDomain[];
      ret: number;
    };
    assert.equal(listed.ret, 1);
    assert.equal(uuidText(listed.domains[0].uuid), r.service.core.host.uuidOfName("web"));
    const found = await client.call("virDomainLookupByName", { name: "web" }) as {
      dom: WireDomain;
    };
    assert.deepEqual(found.dom, defined.dom);
    const state = await client.call("virDomainGetState", { dom: found.dom, flags: 0 });
    assert.deepEqual(state, { state: 5, reason: 0 });
  } finally {
    await client.close();
    await r.stop();
  }
});

Deno.test("the read-only socket refuses every mutating procedure with code 29 and changes nothing", async () => {
  const r = await rig();
  await r.service.client.define({ xml: XML });
  const client = await openClient(r.readOnlySocketPath);
  try {
    const { dom } = await client.call("virDomainLookupByName", { name: "web" }) as {
      dom: WireDomain;
    };
    const head = r.service.store.headPosition();
    for (const [api, procedure] of Object.entries(RPC_PROCEDURES)) {
      if (procedure.readOnly) continue;
      const packet = await client.callRaw({ proc: procedure.proc }, new Uint8Array());
      assert.equal(packet.header.status, MessageStatus.ERROR, api);
      const error = errorOf(packet);
      assert.equal(error.code, 29, api);
      assert.equal(error.message, `operation forbidden: read only access prevents ${api}`);
    }
    await rejectsWithCode(client.call("virDomainDestroy", { dom }), 29);
    assert.equal(r.service.store.headPosition(), head);
  } finally {
    await client.close();
    await r.stop();
  }
});

const SECRET_XML = `<domain type='test'><name>vnc</name><memory>65536</memory><vcpu>1</vcpu>
<os><type>hvm</type></os><devices><graphics type='vnc' port='-1' passwd='s3cret'/></devices>
</domain>`;

Deno.test("a read-only connection is refused the secure XML with code 29 and never reads a password", async () => {
  const r = await rig();
  await r.service.client.define({ xml: SECRET_XML });
  const readOnly = await openClient(r.readOnlySocketPath);
  // A read-write socket opened with VIR_CONNECT_RO (1) is read-only too.
  const askedReadOnly = await RpcTestClient.connect(r.socketPath);
  const readWrite = await openClient(r.socketPath);
  try {
    await askedReadOnly.call("virConnectAuthList");
    await askedReadOnly.call("virConnectOpen", { name: "qemu:///system", flags: 1 });
    const { dom } = await readWrite.call("virDomainLookupByName", { name: "vnc" }) as {
      dom: WireDomain;
    };
    for (const client of [readOnly, askedReadOnly]) {
      for (const flags of [1, 1 | 2]) {
        await rejectsWithCode(
          client.call("virDomainGetXMLDesc", { dom, flags }),
          29,
          /^operation forbidden: virDomainGetXMLDesc with secure flag$/,
        );
      }
      const plain = await client.call("virDomainGetXMLDesc", { dom, flags: 0 }) as { xml: string };
      assert.match(plain.xml, /<graphics type='vnc'/);
      assert.doesNotMatch(plain.xml, /passwd|s3cret/);
    }
    // Refused before the lookup, as libvirt: a missing domain with the secure flag is still 29.
    await rejectsWithCode(
      readOnly.call("virDomainGetXMLDesc", { dom: { ...dom, name: "gone" }, flags: 1 }),
      29,
    );
    const secure = await readWrite.call("virDomainGetXMLDesc", { dom, flags: 1 }) as {
      xml: string;
    };
    assert.match(secure.xml, /passwd='s3cret'/);
  } finally {
    await readOnly.close();
    await askedReadOnly.close();
    await readWrite.close();
    await r.stop();
  }
});

Deno.test("connections to the read-only socket never take the read-write socket's slots", async () => {
  const r = await rig({ connectionsMax: 2 });
  const held = [await openClient(r.readOnlySocketPath), await openClient(r.readOnlySocketPath)];
  try {
    // A third read-only connection is closed at once, unanswered.
    const over = await RpcTestClient.connect(r.readOnlySocketPath);
    await over.ended;
    assert.ok(over.closed);
    await over.close();
    assert.ok(r.logs.some((line) => /ro#\d+: refused: 2 connections already open/.test(line)));
    const readWrite = await openClient(r.socketPath);
    try {
      const listed = await readWrite.call("virConnectNumOfDomains") as { num: number };
      assert.equal(listed.num, 0);
    } finally {
      await readWrite.close();
    }
  } finally {
    for (const client of held) await client.close();
    await r.stop();
  }
});

Deno.test("an unknown procedure answers code 3 and the connection stays usable", async () => {
  const r = await rig();
  const client = await openClient(r.socketPath);
  try {
    const packet = await client.callRaw({ proc: 9999 }, new Uint8Array());
    const error = errorOf(packet);
    assert.equal(error.code, 3);
    assert.equal(
      error.message,
      "this function is not supported by the connection driver: unknown procedure: 9999",
    );
    assert.deepEqual(await client.call("virConnectNumOfDomains"), { num: 0 });
  } finally {
    await client.close();
    await r.stop();
  }
});

Deno.test("a call before CONNECT_OPEN is refused, AUTH_LIST answers none", async () => {
  const r = await rig();
  const client = await RpcTestClient.connect(r.socketPath);
  try {
    assert.deepEqual(await client.call("virConnectAuthList"), { types: [0] });
    await rejectsWithCode(client.call("virConnectNumOfDomains"), 1, /connection not open/);
    await rejectsWithCode(
      client.call("virConnectOpen", { name: "xen:///system", flags: 0 }),
      5,
    );
  } finally {
    await client.close();
    await r.stop();
  }
});

Deno.test("a keepalive PING is answered with a PONG", async () => {
  const r = await rig();
  const client = await RpcTestClient.connect(r.socketPath);
  try {
    await client.writeRaw(encodePacket({
      prog: KEEPALIVE_PROGRAM,
      vers: 1,
      proc: 1,
      type: MessageType.MESSAGE,
      serial: 0,
      status: 0,
    }, new Uint8Array()));
    await client.waitForMessages((messages) =>
      messages.some((packet) =>
        packet.header.prog === KEEPALIVE_PROGRAM && packet.header.proc === 2
      )
    );
  } finally {
    await client.close();
    await r.stop();
  }
});

Deno.test("bad input answers an error or closes that connection; others and the log are untouched", async () => {
  const r = await rig();
  const bystander = await openClient(r.socketPath);
  await bystander.call("virDomainDefineXML", { xml: XML });
  const head = r.service.store.headPosition();
  try {
    // Error replies: the connection continues.
    const client = await openClient(r.socketPath);
    const wrongProgram = await client.callRaw({ prog: 0x1234 }, new Uint8Array());
    assert.equal(errorOf(wrongProgram).code, 39);
    const wrongVersion = await client.callRaw({ vers: 2 }, new Uint8Array());
    assert.match(errorOf(wrongVersion).message, /program version mismatch/);
    const define = RPC_PROCEDURES.virDomainDefineXML;
    const truncated = encodeXdr(define.args, { xml: XML }).subarray(0, 10);
    assert.match(
      errorOf(await client.callRaw({ proc: define.proc }, truncated)).message,
      /truncated/,
    );
    const badUtf8 = new Uint8Array([0, 0, 0, 2, 0xc3, 0x28, 0, 0]);
    assert.match(errorOf(await client.callRaw({ proc: define.proc }, badUtf8)).message, /UTF-8/);
    const stats = RPC_PROCEDURES.virConnectGetAllDomainStats;
    const overMax = encodeXdr(x.struct(["n", x.uint]), { n: 16_385 });
    assert.match(
      errorOf(await client.callRaw({ proc: stats.proc }, overMax)).message,
      /more than 16384/,
    );
    const trailing = new Uint8Array([0, 0, 0, 0]);
    assert.match(
      errorOf(await client.callRaw({ proc: RPC_PROCEDURES.virConnectNumOfDomains.proc }, trailing))
        .message,
      /bytes after the arguments/,
    );
    assert.deepEqual(await client.call("virConnectNumOfDomains"), { num: 0 });
    await client.close();
    // Framing errors: that connection is closed with a logged reason.
    for (
      const [bytes, reason] of [
        [new Uint8Array([0x7f, 0, 0, 0]), /too large/],
        [new Uint8Array([0, 0, 0, 8, 0, 0, 0, 0]), /less than the header/],
      ] as const
    ) {
      const victim = await RpcTestClient.connect(r.socketPath);
      await victim.writeRaw(bytes);
      await victim.ended;
      assert.ok(r.logs.some((line) => reason.test(line)), r.logs.join("\n"));
    }
    assert.deepEqual(await bystander.call("virConnectNumOfDefinedDomains"), { num: 1 });
    assert.equal(r.service.store.headPosition(), head);
  } finally {
    await bystander.close();
    await r.stop();
  }
});

Deno.test("test:///default gives each connection its own test hypervisor", async () => {
  const r = await rig();
  const one = await openClient(r.socketPath, "test:///default");
  const two = await openClient(r.socketPath, "test:///default");
  try {
    const { dom } = await one.call("virDomainLookupByName", { name: "test" }) as {
      dom: WireDomain;
    };
    assert.equal(dom.id, 1);
    assert.deepEqual(await one.call("virConnectGetType"), { type: "Test" });
    await one.call("virDomainDestroy", { dom });
    assert.deepEqual(await one.call("virDomainGetState", { dom, flags: 0 }), {
      state: 5,
      reason: 2,
    });
    // libvirt's test driver loads its default domain running (unknown).
    assert.deepEqual(await two.call("virDomainGetState", { dom, flags: 0 }), {
      state: 1,
      reason: 0,
    });
    assert.equal(r.service.core.host.list().length, 0);
  } finally {
    await one.close();
    await two.close();
    await r.stop();
  }
});

Deno.test("a registered lifecycle callback receives each durable fact's event once", async () => {
  const r = await rig();
  const client = await openClient(r.socketPath);
  try {
    const { callbackID } = await client.call("virConnectDomainEventCallbackRegisterAny", {
      eventID: 0,
      dom: null,
    }) as { callbackID: number };
    await r.service.client.define({ xml: XML });
    await r.service.client.action("web", "start");
    await r.service.client.action("web", "destroy");
    const lifecycle = (messages: Packet[]) =>
      messages.filter((packet) => packet.header.proc === 318);
    await client.waitForMessages((messages) => lifecycle(messages).length >= 3);
    const events = lifecycle(client.messages).map((packet) => {
      const view = new DataView(packet.body.buffer, packet.body.byteOffset);
      assert.equal(view.getInt32(0), callbackID);
      const tail = packet.body.length;
      return [view.getInt32(tail - 8), view.getInt32(tail - 4)];
    });
    assert.deepEqual(events, [[0, 0], [2, 0], [5, 1]]);
    assert.ok(
      lifecycle(client.messages).every((packet) => packet.header.type === MessageType.MESSAGE),
    );
    await client.call("virConnectDomainEventCallbackDeregisterAny", { callbackID });
    await rejectsWithCode(
      client.call("virConnectDomainEventCallbackDeregisterAny", { callbackID }),
      8,
    );
    await rejectsWithCode(
      client.call("virConnectDomainEventCallbackRegisterAny", { eventID: 99, dom: null }),
      8,
    );
  } finally {
    await client.close();
    await r.stop();
  }
});

Deno.test("an old-style registration receives events without a callback id", async () => {
  const r = await rig();
  const client = await openClient(r.socketPath);
  try {
    await client.call("virConnectDomainEventRegisterAny", { eventID: 0 });
    await rejectsWithCode(client.call("virConnectDomainEventRegisterAny", { eventID: 0 }), 1);
    await r.service.client.define({ xml: XML });
    await client.waitForMessages((messages) =>
      messages.some((packet) => packet.header.proc === 107)
    );
    const packet = client.messages.find((each) => each.header.proc === 107)!;
    const view = new DataView(packet.body.buffer, packet.body.byteOffset, packet.body.length);
    assert.deepEqual(
      [view.getInt32(packet.body.length - 8), view.getInt32(packet.body.length - 4)],
      [
        0,
        0,
      ],
    );
    await client.call("virConnectDomainEventDeregisterAny", { eventID: 0 });
    await rejectsWithCode(client.call("virConnectDomainEventDeregisterAny", { eventID: 0 }), 8);
  } finally {
    await client.close();
    await r.stop();
  }
});

Deno.test("an event subscriber that stops reading is disconnected after the stall time", async () => {
  const r = await rig({ stallMs: 200, outgoingBytesMax: 4096 });
  const conn = await Deno.connect({ transport: "unix", path: r.socketPath });
  try {
    const send = async (proc: number, serial: number, body: Uint8Array) => {
      const packet = encodePacket({
        prog: REMOTE_PROGRAM,
        vers: 1,
        proc,
        type: MessageType.CALL,
        serial,
        status: MessageStatus.OK,
      }, body);
      let written = 0;
      while (written < packet.length) written += await conn.write(packet.subarray(written));
    };
    await send(1, 1, encodeXdr(RPC_PROCEDURES.virConnectOpen.args, { name: null, flags: 0 }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await send(
      316,
      2,
      encodeXdr(RPC_PROCEDURES.virConnectDomainEventCallbackRegisterAny.args, {
        eventID: 23,
        dom: null,
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await r.service.client.define({ xml: XML });
    // Metadata changes until the kernel's socket buffer and the bounded queue are full.
    const deadline = Date.now() + 20_000;
    let round = 0;
    while (!r.logs.some((line) => /event queue full/.test(line)) && Date.now() < deadline) {
      await r.service.client.setMetadata("web", { type: "title", value: `t${round++}` });
    }
    assert.ok(r.logs.some((line) => /event queue full for 200 ms/.test(line)), r.logs.join("\n"));
    // The log line comes first; the connection is gone once its read loop has ended.
    const gone = Date.now() + 5000;
    while (r.rpc.connections > 0 && Date.now() < gone) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(r.rpc.connections, 0);
  } finally {
    conn.close();
    await r.stop();
  }
});

Deno.test("a subscriber that fell behind gets every event in order, then new ones at once", async () => {
  const r = await rig({ stallMs: 60_000, outgoingBytesMax: 4096 });
  const conn = await Deno.connect({ transport: "unix", path: r.socketPath });
  try {
    const send = async (proc: number, serial: number, body: Uint8Array) => {
      const packet = encodePacket({
        prog: REMOTE_PROGRAM,
        vers: 1,
        proc,
        type: MessageType.CALL,
        serial,
        status: MessageStatus.OK,
      }, body);
      let written = 0;
      while (written < packet.length) written += await conn.write(packet.subarray(written));
    };
    await r.service.client.define({ xml: XML });
    await send(1, 1, encodeXdr(RPC_PROCEDURES.virConnectOpen.args, { name: null, flags: 0 }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await send(
      316,
      2,
      encodeXdr(RPC_PROCEDURES.virConnectDomainEventCallbackRegisterAny.args, {
        eventID: 23,
        dom: null,
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Unread: more than the kernel's socket buffer and the connection's queue hold, so the
    // relay waits for room and reads the rest back from the hub.
    const behind = 3000;
    // Title (type 1) and description (type 0) in turn: the events' order shows in their types.
    const typeOf = (round: number) => round % 2 === 0 ? "title" : "description";
    for (let round = 0; round < behind; round++) {
      await r.service.client.setMetadata("web", { type: typeOf(round), value: `v${round}` });
    }
    const titles: string[] = [];
    let pending = new Uint8Array(0);
    const buffer = new Uint8Array(65536);
    const deadline = Date.now() + 30_000;
    const readUntil = async (count: number) => {
      while (titles.length < count && Date.now() < deadline) {
        const read = await conn.read(buffer);
        assert.notEqual(read, null, "the connection stayed open");
        const bytes = new Uint8Array(pending.length + read!);
        bytes.set(pending);
        bytes.set(buffer.subarray(0, read!), pending.length);
        let offset = 0;
        const view = new DataView(bytes.buffer);
        while (bytes.length - offset >= 4 && bytes.length - offset >= view.getUint32(offset)) {
          const length = view.getUint32(offset);
          // The metadata callback's body ends with its type and an absent namespace.
          if (view.getInt32(offset + 16) === MessageType.MESSAGE) {
            titles.push(view.getInt32(offset + length - 8) === 1 ? "title" : "description");
          }
          offset += length;
        }
        pending = bytes.slice(offset);
      }
    };
    await readUntil(behind);
    assert.deepEqual(titles, Array.from({ length: behind }, (_, round) => typeOf(round)));
    await r.service.client.setMetadata("web", { type: "description", value: "last" });
    await readUntil(behind + 1);
    assert.equal(titles[behind], "description");
    assert.deepEqual(r.logs, []);
  } finally {
    conn.close();
    await r.stop();
  }
});

Deno.test("a client that calls without reading its replies is disconnected, bounded", async () => {
  const r = await rig({ stallMs: 200, outgoingBytesMax: 4096 });
  await r.service.client.define({ xml: XML });
  const conn = await Deno.connect({ transport: "unix", path: r.socketPath });
  try {
    const open = RPC_PROCEDURES.virConnectOpen;
    const lookup = RPC_PROCEDURES.virConnectListAllDomains;
    const packets = [encodePacket({
      prog: REMOTE_PROGRAM,
      vers: 1,
      proc: open.proc,
      type: MessageType.CALL,
      serial: 1,
      status: MessageStatus.OK,
    }, encodeXdr(open.args, { name: null, flags: 0 }))];
    for (let serial = 2; serial < 4000; serial++) {
      packets.push(encodePacket({
        prog: REMOTE_PROGRAM,
        vers: 1,
        proc: lookup.proc,
        type: MessageType.CALL,
        serial,
        status: MessageStatus.OK,
      }, encodeXdr(lookup.args, { need_results: 1, flags: 0 })));
    }
    // Written without ever reading; the writes may block once the service stops reading.
    const writing = (async () => {
      for (const packet of packets) {
        let written = 0;
        while (written < packet.length) written += await conn.write(packet.subarray(written));
      }
    })().catch(() => {});
    const deadline = Date.now() + 20_000;
    while (
      !r.logs.some((line) => /replies unread for 200 ms/.test(line)) && Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(r.logs.some((line) => /replies unread for 200 ms/.test(line)), r.logs.join("\n"));
    conn.close();
    await writing;
  } finally {
    try {
      conn.close();
    } catch {
      // Closed above.
    }
    await r.stop();
  }
});

import assert from "node:assert/strict";
import { domainReferenceOf, runForwardedCall } from "../../../src/rpc/fleet_calls.ts";
import { procedureIndex, RPC_PROCEDURES } from "../../../src/rpc/procedures.ts";
import { uuidBytes } from "../../../src/rpc/protocol.ts";
import type { SharedService } from "../../../src/rpc/rpc_target.ts";
import { decodeXdr, encodeXdr } from "../../../src/rpc/xdr.ts";
import { EVENT_STREAM_DEFAULTS } from "../../../src/service/service.ts";
import { TEST_NODE_INFO } from "../../../drivers/test/test_driver.ts";
import { isVirtError } from "../../../src/model/errors.ts";
import { withTestCore } from "../../support/test_core.ts";

const UUID = "6a1f0c3e-2b4d-4e8f-9c7a-5d3b1e0f2a84";
const XML = `<domain type='test'><name>web</name><uuid>${UUID}</uuid><memory>65536</memory>` +
  `<vcpu>1</vcpu><os><type>hvm</type></os><devices/></domain>`;
const dom = { name: "web", uuid: uuidBytes(UUID), id: -1 };
const procedures = procedureIndex();

/** Runs `api` with `args` as a call forwarded by another host; its decoded result. */
async function run(service: SharedService, api: string, args: unknown, readOnly = false) {
  const procedure = RPC_PROCEDURES[api];
  const answer = await runForwardedCall(service, procedures, {
    uri: "qemu:///system",
    proc: procedure.proc,
    args: encodeXdr(procedure.args, args),
    readOnly,
  }, "east");
  return decodeXdr(procedure.ret, answer).value;
}

/** The shared service of a test core, as host east. */
function serviceOf(core: Parameters<Parameters<typeof withTestCore>[0]>[0]): SharedService {
  return {
    host: core.host,
    hub: core.hub,
    events: EVENT_STREAM_DEFAULTS,
    xmlMaxBytes: 65536,
    hostname: () => "east",
    nodeInfo: () => TEST_NODE_INFO,
  };
}

function refusedWith(code: number, message: RegExp) {
  return (error: unknown) => {
    assert.ok(isVirtError(error), String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
    return true;
  };
}

Deno.test("the domain a call names: lookups by name and uuid, dom, a snapshot's dom", () => {
  assert.equal(domainReferenceOf("virDomainLookupByName", { name: "web" }), "web");
  assert.equal(domainReferenceOf("virDomainLookupByUUID", { uuid: uuidBytes(UUID) }), UUID);
  assert.equal(domainReferenceOf("virDomainGetState", { dom, flags: 0 }), UUID);
  assert.equal(
    domainReferenceOf("virDomainSnapshotDelete", { snap: { name: "s", dom }, flags: 0 }),
    UUID,
  );
  // Event registrations, lists and calls naming no domain stay on this host.
  assert.equal(
    domainReferenceOf("virConnectDomainEventCallbackRegisterAny", { eventID: 0, dom }),
    undefined,
  );
  assert.equal(
    domainReferenceOf("virConnectListAllDomains", { need_results: 1, flags: 0 }),
    undefined,
  );
  assert.equal(domainReferenceOf("virDomainLookupByID", { id: 1 }), undefined);
  assert.equal(domainReferenceOf("virNetworkLookupByName", { name: "web" }), undefined);
});

Deno.test("a forwarded call runs on the owner's host as its own connection would", async () => {
  await withTestCore(async (core) => {
    const service = serviceOf(core);
    assert.deepEqual(await run(service, "virDomainDefineXML", { xml: XML }), { dom });
    await run(service, "virDomainCreate", { dom });
    assert.deepEqual(await run(service, "virDomainGetState", { dom, flags: 0 }, true), {
      state: 1,
      reason: 1,
    });
    // Read-only stays read-only; errors are the owner's.
    await assert.rejects(
      run(service, "virDomainDestroy", { dom }, true),
      refusedWith(29, /read only access prevents virDomainDestroy/),
    );
    await assert.rejects(
      run(service, "virDomainLookupByName", { name: "nowhere" }),
      refusedWith(42, /no domain with matching name 'nowhere'/),
    );
    // Event callbacks are not carried: they are registered on the host the client is on.
    await assert.rejects(
      run(service, "virConnectDomainEventCallbackRegisterAny", { eventID: 0, dom }),
      refusedWith(84, /events of a domain of host 'east' are not carried between hosts/),
    );
    // Arguments that do not decode, and unknown procedures.
    await assert.rejects(
      runForwardedCall(service, procedures, {
        uri: "qemu:///system",
        proc: RPC_PROCEDURES.virDomainGetState.proc,
        args: new Uint8Array(3),
        readOnly: true,
      }, "east"),
      refusedWith(39, /cannot decode arguments of virDomainGetState/),
    );
    await assert.rejects(
      runForwardedCall(service, procedures, {
        uri: "qemu:///system",
        proc: 999_999,
        args: new Uint8Array(),
        readOnly: true,
      }, "east"),
      refusedWith(39, /procedure 999999 is not carried between hosts/),
    );
    await run(service, "virDomainDestroy", { dom });
  });
});

Deno.test("a forwarded call that opens a stream hands it to the carrier, or is refused with 84", async () => {
  await withTestCore(async (core) => {
    const service = serviceOf(core);
    await run(service, "virDomainDefineXML", { xml: XML });
    await run(service, "virDomainCreate", { dom });
    const procedure = RPC_PROCEDURES.virDomainScreenshot;
    const call = {
      uri: "qemu:///system",
      proc: procedure.proc,
      args: encodeXdr(procedure.args, { dom, screen: 0, flags: 0 }),
      readOnly: false,
    };
    // Without a stream id (or a carrier) nobody would read it: refused, and released.
    await assert.rejects(
      runForwardedCall(service, procedures, call, "east"),
      refusedWith(84, /streams of a domain of host 'east' are not carried between hosts/),
    );
    // With both, the carrier gets the stream under the caller's id, before the answer.
    const carried: string[] = [];
    let image = 0;
    let reading: Promise<void> = Promise.resolve();
    const answer = await runForwardedCall(
      service,
      procedures,
      { ...call, stream: "id-1" },
      "east",
      (id, source) => {
        carried.push(id);
        reading = (async () => {
          for (let chunk = await source.read!(); chunk !== null; chunk = await source.read!()) {
            if (chunk instanceof Uint8Array) image += chunk.length;
          }
          source.close();
        })();
      },
    );
    assert.deepEqual(carried, ["id-1"]);
    assert.equal((decodeXdr(procedure.ret, answer).value as { mime: string }).mime, "image/png");
    await reading;
    assert.ok(image > 0);
  });
});

/**
 * `applyNetworkUpdate` apart from the service: the definition given stays as it was, entries go
 * first or last, matching follows libvirt (MACs without case), and what libvirt refuses is
 * refused with its code (the messages of every section are compared with libvirtd in
 * `tests/integration/network_update_libvirt_test.ts`).
 */

import assert from "node:assert/strict";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";
import { applyNetworkUpdate } from "../../../src/xml/network_update.ts";
import { NETWORK_UPDATE_SECTIONS } from "../../../src/model/network_update.ts";
import { parseNetworkXml } from "../../../src/xml/parse_network.ts";

const NETWORK = parseNetworkXml(
  "<network><name>n</name><uuid>81ff0d90-c91e-6742-64da-4a736edb9a9e</uuid>" +
    "<bridge name='br-n'/><ip address='10.1.0.1' prefix='24'><dhcp>" +
    "<host mac='52:54:00:00:00:01' ip='10.1.0.2'/></dhcp></ip>" +
    "<ip family='ipv6' address='fd00::1' prefix='64'/></network>",
);

function code(expected: number, message: RegExp) {
  return (error: unknown) =>
    error instanceof VirtError && error.code === expected && message.test(error.message);
}

Deno.test("add-first and add-last place the host; the definition given is unchanged", () => {
  const before = structuredClone(NETWORK);
  const first = applyNetworkUpdate(NETWORK, {
    command: 4,
    section: NETWORK_UPDATE_SECTIONS["ip-dhcp-host"],
    parentIndex: -1,
    xml: "<host mac='52:54:00:00:00:02' ip='10.1.0.3'/>",
  });
  const last = applyNetworkUpdate(first, {
    command: 3,
    section: NETWORK_UPDATE_SECTIONS["ip-dhcp-host"],
    parentIndex: 0,
    xml: "<host name='c' ip='10.1.0.4'/>",
  });
  assert.deepEqual(last.ips[0].dhcp?.hosts.map((host) => host.ip), [
    "10.1.0.3",
    "10.1.0.2",
    "10.1.0.4",
  ]);
  assert.deepEqual(NETWORK, before);
});

Deno.test("a delete pattern matches a MAC whatever its case", () => {
  const after = applyNetworkUpdate(NETWORK, {
    command: 2,
    section: NETWORK_UPDATE_SECTIONS["ip-dhcp-host"],
    parentIndex: -1,
    xml: "<host mac='52:54:00:00:00:01'/>".toUpperCase().replace("HOST MAC", "host mac"),
  });
  assert.equal(after.ips[0].dhcp, undefined, "an empty <dhcp> is not kept");
});

Deno.test("a parent index picks any family's <ip>: an IPv6 host needs an id or name", () => {
  const after = applyNetworkUpdate(NETWORK, {
    command: 3,
    section: NETWORK_UPDATE_SECTIONS["ip-dhcp-host"],
    parentIndex: 1,
    xml: "<host id='0:1' ip='fd00::9'/>",
  });
  assert.deepEqual(after.ips[1].dhcp?.hosts, [{ id: "0:1", ip: "fd00::9" }]);
  assert.throws(
    () =>
      applyNetworkUpdate(NETWORK, {
        command: 3,
        section: NETWORK_UPDATE_SECTIONS["ip-dhcp-host"],
        parentIndex: 1,
        xml: "<host mac='52:54:00:00:00:05' ip='fd00::9'/>",
      }),
    code(ErrorCode.XML_ERROR, /Invalid to specify MAC address/),
  );
});

Deno.test("unknown section and command numbers are refused with code 84", () => {
  const xml = "<host mac='52:54:00:00:00:02' ip='10.1.0.3'/>";
  assert.throws(
    () => applyNetworkUpdate(NETWORK, { command: 3, section: 13, parentIndex: -1, xml }),
    code(ErrorCode.OPERATION_UNSUPPORTED, /^can't update unrecognized section of network$/),
  );
  assert.throws(
    () => applyNetworkUpdate(NETWORK, { command: 7, section: 4, parentIndex: -1, xml }),
    code(ErrorCode.OPERATION_UNSUPPORTED, /^unrecognized network update command code 7$/),
  );
});

Deno.test("a result libvirt could not read back is refused (a DNS record in a disabled DNS)", () => {
  const disabled = { ...NETWORK, dns: { ...NETWORK.dns, enable: "no" as const } };
  assert.throws(
    () =>
      applyNetworkUpdate(disabled, {
        command: 3,
        section: NETWORK_UPDATE_SECTIONS["dns-txt"],
        parentIndex: -1,
        xml: "<txt name='k' value='v'/>",
      }),
    code(ErrorCode.XML_ERROR, /Extra data in disabled network 'n'/),
  );
});

Deno.test("malformed XML is refused with code 27 and where it broke", () => {
  assert.throws(
    () => applyNetworkUpdate(NETWORK, { command: 3, section: 4, parentIndex: -1, xml: "<host" }),
    (error: unknown) =>
      error instanceof VirtError && error.code === ErrorCode.XML_ERROR &&
      error.where !== undefined,
  );
});

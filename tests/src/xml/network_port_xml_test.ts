/**
 * `<networkport>` XML: parsed and written as libvirt 9.0 does (every element the schema
 * `networkport.rng` allows that evirt carries, written in libvirt's order), and refused with
 * libvirt's code, message and a location.
 */

import assert from "node:assert/strict";
import { parseNetworkPortXml } from "../../../src/xml/parse_network_port.ts";
import { formatNetworkPortXml } from "../../../src/xml/format_network_port.ts";

const FULL = `<networkport>
  <uuid>aaaaaaaa-2222-3333-4444-555555555555</uuid>
  <owner>
    <name>g&amp;1</name>
    <uuid>11111111-2222-3333-4444-555555555555</uuid>
  </owner>
  <group>fast</group>
  <mac address='52:54:00:aa:bb:01'/>
  <bandwidth>
    <inbound average='100' peak='200' floor='50' burst='300'/>
    <outbound average='10'/>
  </bandwidth>
  <vlan trunk='yes'>
    <tag id='4' nativeMode='untagged'/>
    <tag id='5'/>
  </vlan>
  <port isolated='yes'/>
  <rxfilters trustGuest='no'/>
  <plug type='network' bridge='virbr0' macTableManager='libvirt'/>
</networkport>
`;

Deno.test("a network port's XML round-trips as libvirt writes it", () => {
  assert.equal(formatNetworkPortXml(parseNetworkPortXml(FULL)), FULL);
  const scrambled = `<networkport><plug type='bridge' bridge='br0'/>` +
    `<mac address='52:54:00:AA:BB:01'/><owner><uuid>11111111222233334444555555555555</uuid>` +
    `<name>g</name></owner><uuid>AAAAAAAA-2222-3333-4444-555555555555</uuid></networkport>`;
  assert.equal(
    formatNetworkPortXml(parseNetworkPortXml(scrambled)),
    `<networkport>
  <uuid>aaaaaaaa-2222-3333-4444-555555555555</uuid>
  <owner>
    <name>g</name>
    <uuid>11111111-2222-3333-4444-555555555555</uuid>
  </owner>
  <mac address='52:54:00:aa:bb:01'/>
  <plug type='bridge' bridge='br0'/>
</networkport>
`,
  );
});

Deno.test("bad network port XML is refused with libvirt's code, message and where", () => {
  const owner = "<owner><name>g</name><uuid>11111111-2222-3333-4444-555555555555</uuid></owner>";
  const uuid = "<uuid>aaaaaaaa-2222-3333-4444-555555555555</uuid>";
  const mac = "<mac address='52:54:00:aa:bb:01'/>";
  const cases: Array<[string, number, string, string]> = [
    [`<port/>`, 27, "expecting root element of 'networkport', not 'port'", "/port"],
    [
      `<networkport>${owner}${mac}</networkport>`,
      1,
      "network port has no uuid",
      "/networkport/uuid",
    ],
    [
      `<networkport><uuid>x</uuid>${owner}${mac}</networkport>`,
      1,
      "Unable to parse UUID 'x'",
      "/networkport/uuid",
    ],
    [
      `<networkport>${uuid}${mac}</networkport>`,
      1,
      "network port has no owner name",
      "/networkport/owner/name",
    ],
    [
      `<networkport>${uuid}<owner><name>g</name></owner>${mac}</networkport>`,
      1,
      "network port has no owner UUID",
      "/networkport/owner/uuid",
    ],
    [
      `<networkport>${uuid}${owner}</networkport>`,
      1,
      "network port has no mac",
      "/networkport/mac/@address",
    ],
    [
      `<networkport>${uuid}${owner}<mac address='1:2'/></networkport>`,
      1,
      "Unable to parse MAC '1:2'",
      "/networkport/mac/@address",
    ],
    [
      `<networkport>${uuid}${owner}${mac}<plug type='bridge'/></networkport>`,
      27,
      "Missing network port bridge name",
      "/networkport/plug/@bridge",
    ],
    [
      `<networkport>${uuid}${owner}${mac}<plug type='bridge' bridge='b' macTableManager='x'/></networkport>`,
      27,
      "Invalid macTableManager setting 'x' in network port",
      "/networkport/plug/@macTableManager",
    ],
    [
      `<networkport>${uuid}${owner}${mac}<plug type='direct' dev='eth0' mode='vepa'/></networkport>`,
      67,
      "network port plug type 'direct' needs a device pool, which evirt does not run",
      "/networkport/plug/@type",
    ],
    [
      `<networkport>${uuid}${owner}${mac}<virtualport type='openvswitch'/></networkport>`,
      67,
      "network port <virtualport> is not supported by evirt",
      "/networkport/virtualport",
    ],
    [
      `<networkport>${uuid}${owner}${mac}<rxfilters trustGuest='maybe'/></networkport>`,
      27,
      "Invalid value for attribute 'trustGuest' in element 'rxfilters': 'maybe'.",
      "/networkport/rxfilters/@trustGuest",
    ],
  ];
  for (const [xml, code, message, where] of cases) {
    assert.throws(() => parseNetworkPortXml(xml), (error: unknown) => {
      const failure = error as { code: number; message: string; where?: string };
      assert.equal(failure.code, code, xml);
      assert.equal(failure.message, message, xml);
      assert.equal(failure.where, where, xml);
      return true;
    });
  }
});

import assert from "node:assert/strict";
import { formatNetworkXml } from "../../../src/xml/format_network.ts";
import { parseNetworkXml } from "../../../src/xml/parse_network.ts";

const UUID = "81ff0d90-c91e-6742-64da-4a736edb9a9b";

function roundTrip(body: string, inactive = true): string {
  return formatNetworkXml(
    parseNetworkXml(`<network><name>net</name><uuid>${UUID}</uuid>${body}</network>`),
    { inactive },
  );
}

Deno.test("formatNetworkXml() writes an isolated network with libvirt's bridge defaults", () => {
  assert.equal(
    roundTrip(""),
    `<network>\n  <name>net</name>\n  <uuid>${UUID}</uuid>\n  <bridge stp='on' delay='0'/>\n</network>\n`,
  );
});

Deno.test("formatNetworkXml() writes the forward dev as the first interface", () => {
  const xml = roundTrip("<forward mode='nat' dev='eth1'/><ip address='10.0.0.1' prefix='8'/>");
  assert.match(
    xml,
    /<forward dev='eth1' mode='nat'>\n {4}<interface dev='eth1'\/>\n {2}<\/forward>/,
  );
});

Deno.test("formatNetworkXml() writes NAT ranges, bandwidth, routes and DNS in libvirt's order", () => {
  const xml = roundTrip(
    "<bandwidth><inbound average='1000' peak='5000' burst='1024'/><outbound average='128'/></bandwidth>" +
      "<forward mode='nat'><nat><address start='10.20.30.40' end='10.20.30.44'/><port start='60000' end='65432'/></nat></forward>" +
      "<dns><forwarder domain='example.com' addr='8.8.8.8'/><txt name='t' value='v'/></dns>" +
      "<ip address='10.1.1.1' prefix='24'/><route address='10.9.0.0' prefix='16' gateway='10.1.1.2' metric='3'/>",
  );
  assert.equal(
    xml,
    `<network>
  <name>net</name>
  <uuid>${UUID}</uuid>
  <forward mode='nat'>
    <nat>
      <address start='10.20.30.40' end='10.20.30.44'/>
      <port start='60000' end='65432'/>
    </nat>
  </forward>
  <bridge stp='on' delay='0'/>
  <dns>
    <forwarder domain='example.com' addr='8.8.8.8'/>
    <txt name='t' value='v'/>
  </dns>
  <bandwidth>
    <inbound average='1000' peak='5000' burst='1024'/>
    <outbound average='128'/>
  </bandwidth>
  <ip address='10.1.1.1' prefix='24'>
  </ip>
  <route address='10.9.0.0' prefix='16' gateway='10.1.1.2' metric='3'/>
</network>
`,
  );
});

Deno.test("formatNetworkXml() leaves a pf pool's interfaces out of the inactive form only", () => {
  const parsed = parseNetworkXml(
    `<network><name>p</name><uuid>${UUID}</uuid><forward mode='passthrough'><pf dev='eth0'/></forward></network>`,
  );
  parsed.forward!.interfaces.push("eth0v1");
  assert.doesNotMatch(formatNetworkXml(parsed, { inactive: true }), /eth0v1/);
  assert.match(formatNetworkXml(parsed), /<interface dev='eth0v1'\/>/);
});

Deno.test("formatNetworkXml() writes metadata as libxml2 dumps it", () => {
  const xml = roundTrip(
    "<metadata><app1:foo xmlns:app1='http://foo.org/'>fooish</app1:foo><app2:bar xmlns:app2='http://bar.com/' maman='baz'>barish</app2:bar></metadata>",
  );
  assert.match(
    xml,
    /<metadata>\n {4}<app1:foo xmlns:app1="http:\/\/foo.org\/">fooish<\/app1:foo>\n {4}<app2:bar xmlns:app2="http:\/\/bar.com\/" maman="baz">barish<\/app2:bar>\n {2}<\/metadata>/,
  );
});

Deno.test("formatNetworkXml() output parses back to the same definition", () => {
  const body = "<forward mode='route' dev='eth1'/><domain name='example.com' localOnly='yes'/>" +
    "<ip family='ipv6' address='2001:DB8::1' prefix='64'><dhcp><range start='2001:db8::10' end='2001:db8::ff'/>" +
    "<host id='0:1:2' name='h' ip='2001:db8::20'/></dhcp></ip>" +
    "<portgroup name='g' default='yes'><vlan><tag id='5'/></vlan></portgroup>";
  const once = roundTrip(body);
  assert.equal(formatNetworkXml(parseNetworkXml(once), { inactive: true }), once);
  assert.match(once, /address='2001:db8::1'/);
});

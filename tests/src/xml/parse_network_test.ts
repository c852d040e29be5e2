import assert from "node:assert/strict";
import { isVirtError } from "../../../src/model/errors.ts";
import { parseNetworkXml } from "../../../src/xml/parse_network.ts";

const UUID = "<uuid>81ff0d90-c91e-6742-64da-4a736edb9a9b</uuid>";

function network(body: string, attributes = ""): string {
  return `<network${attributes}><name>net</name>${UUID}${body}</network>`;
}

function refused(xml: string, code: number, message: string, where?: string): void {
  assert.throws(() => parseNetworkXml(xml), (error: unknown) => {
    assert.ok(isVirtError(error), String(error));
    assert.equal(error.message, message);
    assert.equal(error.code, code);
    if (where !== undefined) assert.equal(error.where, where);
    return true;
  });
}

Deno.test("parseNetworkXml() reads a NAT network with its DHCP range and hosts", () => {
  const parsed = parseNetworkXml(network(
    "<forward mode='nat'><nat><address start='10.0.0.5' end='10.0.0.9'/><port start='1024' end='65535'/></nat></forward>" +
      "<bridge name='virbr9' stp='off' delay='2'/><mac address='52:54:00:AA:bb:01'/><mtu size='9000'/>" +
      "<ip address='192.168.100.1' prefix='24'><dhcp><range start='192.168.100.2' end='192.168.100.9'/>" +
      "<host mac='52:54:00:00:00:01' name='guest' ip='192.168.100.5'/></dhcp></ip>",
  ));
  assert.equal(parsed.forward?.mode, "nat");
  assert.deepEqual(parsed.forward?.nat, {
    addressStart: "10.0.0.5",
    addressEnd: "10.0.0.9",
    portStart: 1024,
    portEnd: 65535,
  });
  assert.deepEqual(parsed.bridge, { name: "virbr9", stp: false, delay: 2 });
  assert.equal(parsed.mac, "52:54:00:aa:bb:01");
  assert.equal(parsed.mtu, 9000);
  assert.deepEqual(parsed.ips[0].dhcp?.ranges, [{ start: "192.168.100.2", end: "192.168.100.9" }]);
  assert.deepEqual(parsed.ips[0].dhcp?.hosts, [
    { mac: "52:54:00:00:00:01", name: "guest", ip: "192.168.100.5" },
  ]);
  assert.deepEqual(JSON.parse(JSON.stringify(parsed)), parsed);
});

Deno.test("parseNetworkXml() gives a network without <uuid> a new one", () => {
  const parsed = parseNetworkXml("<network><name>n</name></network>");
  assert.match(parsed.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(parsed.forward, undefined);
});

Deno.test("parseNetworkXml() refuses a network without a name or with '/' in it", () => {
  refused("<network/>", 21, "missing name information", "/network/name");
  refused("<network><name>a/b</name></network>", 35, "invalid char in name: /", "/network/name");
});

Deno.test("parseNetworkXml() refuses a DHCP range outside its network, as libvirt 9.0 (code 1)", () => {
  refused(
    network(
      "<ip address='192.168.100.1' netmask='255.255.255.0'><dhcp><range start='192.168.101.2' end='192.168.101.9'/></dhcp></ip>",
    ),
    1,
    "range 192.168.101.2 - 192.168.101.9 is not entirely within network 192.168.100.1/24",
    "/network/ip[1]/dhcp/range[1]",
  );
});

Deno.test("parseNetworkXml() refuses a range from the network address or to the broadcast address", () => {
  refused(
    network(
      "<ip address='10.1.1.1' prefix='24'><dhcp><range start='10.1.1.0' end='10.1.1.9'/></dhcp></ip>",
    ),
    1,
    "start of range 10.1.1.0 - 10.1.1.9 in network 10.1.1.1/24 is the network address",
  );
  refused(
    network(
      "<ip address='10.1.1.1' prefix='24'><dhcp><range start='10.1.1.2' end='10.1.1.255'/></dhcp></ip>",
    ),
    1,
    "end of range 10.1.1.2 - 10.1.1.255 in network 10.1.1.1/24 is the broadcast address",
  );
});

Deno.test("parseNetworkXml() refuses a reversed range and one of mixed families", () => {
  refused(
    network(
      "<ip address='10.1.1.1' prefix='24'><dhcp><range start='10.1.1.9' end='10.1.1.2'/></dhcp></ip>",
    ),
    1,
    "range 10.1.1.9 - 10.1.1.2 is reversed ",
  );
  refused(
    network(
      "<ip address='10.1.1.1' prefix='24'><dhcp><range start='10.1.1.9' end='::1'/></dhcp></ip>",
    ),
    1,
    "mismatch of address family in range 10.1.1.9 - ::1",
  );
});

Deno.test("parseNetworkXml() refuses an invalid or multicast MAC", () => {
  refused(
    network("<mac address='52:54:00:zz:00:01'/>"),
    27,
    "Invalid bridge mac address '52:54:00:zz:00:01' in network 'net'",
    "/network/mac/@address",
  );
  refused(
    network("<mac address='01:00:5e:00:00:01'/>"),
    27,
    "Invalid multicast bridge mac address '01:00:5e:00:00:01' in network 'net'",
  );
  refused(
    network(
      "<ip address='10.1.1.1' prefix='24'><dhcp><host mac='52:54' ip='10.1.1.5'/></dhcp></ip>",
    ),
    27,
    "Cannot parse MAC address '52:54' in network 'net'",
    "/network/ip[1]/dhcp/host[1]",
  );
});

Deno.test("parseNetworkXml() refuses a bad prefix, a prefix with a netmask and an unknown family", () => {
  refused(
    network("<ip address='10.1.1.1' prefix='33'/>"),
    67,
    "Invalid IPv4 prefix '33' in network 'net'",
    "/network/ip[1]/@prefix",
  );
  refused(
    network("<ip family='ipv6' address='2001:db8::1' prefix='129'/>"),
    67,
    "Invalid IPv6 prefix '129' in network 'net'",
  );
  refused(
    network("<ip address='10.1.1.1' netmask='255.255.255.0' prefix='24'/>"),
    67,
    "Network 'net' IP address cannot have both a prefix and a netmask",
  );
  refused(
    network("<ip family='ipx' address='10.1.1.1'/>"),
    27,
    "Unrecognized family 'ipx' in network 'net'",
  );
  refused(
    network("<ip address='2001:db8::1'/>"),
    67,
    "no family specified for non-IPv4 address '2001:db8::1' in network 'net'",
  );
});

Deno.test("parseNetworkXml() refuses NAT or route forwarding without an address", () => {
  refused(
    network("<forward mode='route'/>"),
    27,
    "route forwarding requested, but no IP address provided for network 'net'",
  );
});

Deno.test("parseNetworkXml() refuses bridge settings and MTU a forward mode cannot have", () => {
  refused(
    network("<forward mode='vepa'><interface dev='eth1'/></forward><bridge name='br0'/>"),
    27,
    "bridge name not allowed in vepa mode (network 'net')",
  );
  refused(
    network("<forward mode='bridge'/><bridge name='br0' stp='on'/>"),
    27,
    "bridge delay/stp/zone options only allowed in route, nat, and isolated mode, not in bridge (network 'net')",
  );
  refused(
    network("<forward mode='bridge'/><bridge name='br0'/><mtu size='9000'/>"),
    27,
    "mtu size only allowed in open, route, nat, and isolated mode, not in bridge (network 'net')",
  );
  refused(
    network("<forward mode='bridge' dev='eth0'/><bridge name='br0'/>"),
    27,
    "A network with forward mode='bridge' can specify a bridge name or a forward dev, but not both (network 'net')",
  );
});

Deno.test("parseNetworkXml() refuses an unknown forward mode and a mismatched forward dev", () => {
  refused(network("<forward mode='tunnel'/>"), 67, "unknown forwarding type 'tunnel'");
  refused(
    network("<forward mode='bridge' dev='eth0'><interface dev='eth1'/></forward>"),
    27,
    "<forward dev='eth0'> must match first <interface dev='eth1'/> in network net",
  );
  refused(
    network("<forward mode='bridge'><interface dev='eth1'/><interface dev='eth1'/></forward>"),
    27,
    "interface 'eth1' can only be listed once in network net",
  );
});

Deno.test("parseNetworkXml() refuses a static route whose gateway is not on the network", () => {
  refused(
    network(
      "<ip address='10.1.1.1' prefix='24'/><route address='10.9.0.0' prefix='16' gateway='10.2.2.2'/>",
    ),
    67,
    "unreachable static route gateway '10.2.2.2' specified for network 'net'",
  );
  refused(
    network(
      "<ip address='10.1.1.1' prefix='24'/><route address='10.9.0.1' prefix='16' gateway='10.1.1.2'/>",
    ),
    27,
    "net: Address '10.9.0.1' in route definition is not a network address",
  );
});

Deno.test("parseNetworkXml() refuses DNS records that are incomplete or in a disabled DNS", () => {
  refused(
    network("<dns enable='no'><txt name='a' value='b'/></dns>"),
    27,
    "Extra data in disabled network 'net'",
    "/network/dns",
  );
  refused(
    network("<dns><txt name='a b' value='v'/></dns>"),
    35,
    "prohibited character in DNS TXT record name 'a b' of network net",
  );
  refused(
    network("<dns><srv service='x' protocol='tcp' port='80'/></dns>"),
    35,
    "DNS SRV port attribute not permitted without target for service 'x' in network 'net'",
  );
  refused(
    network("<dns><host ip='10.0.0.1'/></dns>"),
    35,
    "Missing hostname in network 'net' DNS HOST record",
  );
  refused(
    network("<dns><forwarder/></dns>"),
    27,
    "Invalid forwarder element, must contain at least one of addr or domain",
  );
});

Deno.test("parseNetworkXml() refuses a lease shorter than two minutes", () => {
  refused(
    network(
      "<ip address='10.1.1.1' prefix='24'><dhcp><range start='10.1.1.2' end='10.1.1.9'><lease expiry='60' unit='seconds'/></range></dhcp></ip>",
    ),
    67,
    "The minimum lease time should be greater than 2 minutes",
  );
});

Deno.test("parseNetworkXml() refuses what libvirt 9.0 would drop: <title>, forwarder ports", () => {
  refused(
    network("<title>t</title>"),
    67,
    "element 'title' is not supported here",
    "/network/title",
  );
  refused(
    network("<dns><forwarder addr='8.8.8.8' port='53'/></dns>"),
    67,
    "attribute 'port' is not supported here",
    "/network/dns/forwarder[1]/@port",
  );
});

Deno.test("parseNetworkXml() refuses elements and attributes it does not know, with their path", () => {
  refused(
    network("<ip address='10.1.1.1' prefix='24'><bogus/></ip>"),
    67,
    "element 'bogus' is not supported here",
    "/network/ip[1]/bogus",
  );
  refused(
    network("<bridge name='br0' color='red'/>"),
    67,
    "attribute 'color' is not supported here",
    "/network/bridge/@color",
  );
});

Deno.test("parseNetworkXml() refuses a vlan with several tags but trunk='no'", () => {
  refused(
    network("<vlan trunk='no'><tag id='1'/><tag id='2'/></vlan>"),
    27,
    "invalid \"trunk='no'\" in <vlan> - trunk='yes' is required for more than one vlan tag",
  );
  refused(
    network("<vlan><tag id='4096'/></vlan>"),
    27,
    "vlan tag id 4096 too large (maximum 4095)",
  );
});

Deno.test("parseNetworkXml() keeps dnsmasq options under any prefix bound to their namespace", () => {
  const parsed = parseNetworkXml(
    network(
      "<x:options><x:option value='a=b'/><x:option value='c'/></x:options>",
      " xmlns:x='http://libvirt.org/schemas/network/dnsmasq/1.0'",
    ),
  );
  assert.deepEqual(parsed.dnsmasqOptions, ["a=b", "c"]);
});

import assert from "node:assert/strict";
import {
  dnsmasqCommand,
  dnsmasqConfiguration,
  needsDnsmasq,
} from "../../../drivers/network/dnsmasq_config.ts";
import { isVirtError } from "../../../src/model/errors.ts";
import type { NetworkDefinition } from "../../../src/model/network.ts";
import { completeNetworkDefinition } from "../../../src/model/network_defaults.ts";
import { parseNetworkXml } from "../../../src/xml/parse_network.ts";
import { runChild } from "../../support/child_process.ts";
import { missing, testIf } from "../../support/environment.ts";

const STATE_DIR = "/run/evirt/dnsmasq";

function network(body: string): NetworkDefinition {
  return completeNetworkDefinition(
    parseNetworkXml(
      `<network><name>net</name><uuid>81ff0d90-c91e-6742-64da-4a736edb9a9b</uuid>${body}</network>`,
    ),
    { otherNetworks: [], generateMac: () => "52:54:00:00:00:01" },
  );
}

function configLines(body: string, pidFile?: string): string[] {
  const files = dnsmasqConfiguration(network(body), { stateDir: STATE_DIR, pidFile });
  return files.config.split("\n").filter((line) => line !== "" && !line.startsWith("##"));
}

Deno.test("dnsmasqConfiguration() gives an isolated network no route and no upstream DNS", () => {
  assert.deepEqual(
    configLines(
      "<bridge name='virbr7'/><ip address='10.0.0.1' prefix='24'><dhcp><range start='10.0.0.2' end='10.0.0.9'/></dhcp></ip>",
      "/run/evirt/net.pid",
    ),
    [
      "strict-order",
      "pid-file=/run/evirt/net.pid",
      "except-interface=lo",
      "bind-dynamic",
      "interface=virbr7",
      "dhcp-option=3",
      "no-resolv",
      "ra-param=*,0,0",
      "dhcp-range=10.0.0.2,10.0.0.9,255.255.255.0",
      "dhcp-no-override",
      "dhcp-authoritative",
      "dhcp-lease-max=8",
      `dhcp-hostsfile=${STATE_DIR}/net.hostsfile`,
      `addn-hosts=${STATE_DIR}/net.addnhosts`,
    ],
  );
});

Deno.test("dnsmasqConfiguration() turns DNS off with port=0 and writes no DNS hosts file", () => {
  const lines = configLines(
    "<forward mode='route'/><bridge name='virbr7'/><dns enable='no'/><ip address='10.0.0.1' prefix='24'/>",
  );
  assert.equal(lines[1], "port=0");
  assert.ok(!lines.some((line) => line.startsWith("addn-hosts=")));
});

Deno.test("dnsmasqConfiguration() writes forwarders, with no-resolv when one takes every name", () => {
  const lines = configLines(
    "<forward mode='nat'/><bridge name='virbr7'/><dns><forwarder addr='8.8.8.8'/>" +
      "<forwarder domain='example.com' addr='192.168.1.1'/><forwarder domain='local.lan'/>" +
      "<forwarder addr='9.9.9.9'/></dns><ip address='10.0.0.1' prefix='24'/>",
  );
  assert.deepEqual(lines.slice(1, 6), [
    "server=8.8.8.8",
    "server=/example.com/192.168.1.1",
    "server=/local.lan/#",
    "server=9.9.9.9",
    "no-resolv",
  ]);
});

Deno.test("dnsmasqConfiguration() writes local PTR domains and refuses a prefix off a boundary", () => {
  const lines = configLines(
    "<forward mode='nat'/><bridge name='virbr7'/><domain name='example.com' localOnly='yes'/>" +
      "<ip address='192.168.122.1' prefix='24' localPtr='yes'/>" +
      "<ip family='ipv6' address='2001:db8:ac10:fd01::1' prefix='64' localPtr='yes'/>",
  );
  assert.deepEqual(lines.slice(1, 6), [
    "local=/example.com/",
    "domain=example.com",
    "expand-hosts",
    "local=/122.168.192.in-addr.arpa/",
    "local=/1.0.d.f.0.1.c.a.8.b.d.0.1.0.0.2.ip6.arpa/",
  ]);
  assert.throws(
    () =>
      dnsmasqConfiguration(
        network(
          "<forward mode='nat'/><bridge name='virbr7'/><ip address='10.0.0.1' prefix='20' localPtr='yes'/>",
        ),
        { stateDir: STATE_DIR },
      ),
    (error: unknown) =>
      isVirtError(error, 67) &&
      error.message ===
        "PTR domain for IPv4 network with prefix 20 cannot be automatically created",
  );
});

Deno.test("dnsmasqConfiguration() writes TXT and SRV records, leaving out what an absent target makes moot", () => {
  const lines = configLines(
    "<forward mode='nat'/><bridge name='virbr7'/><dns><txt name='example' value='example value'/>" +
      "<srv service='ldap' protocol='tcp'/><srv service='sip' protocol='udp' target='.' port='5060'/>" +
      "<srv service='www' protocol='tcp' domain='d.com' target='web.d.com' weight='5'/></dns>" +
      "<ip address='10.0.0.1' prefix='24'/>",
  );
  assert.deepEqual(lines.filter((line) => /^(txt|srv)/.test(line)), [
    "txt-record=example,example value",
    "srv-host=_ldap._tcp",
    "srv-host=_sip._udp",
    "srv-host=_www._tcp.d.com,web.d.com,1,0,5",
  ]);
});

Deno.test("dnsmasqConfiguration() writes static hosts, IPv6 ones by client id, with lease times", () => {
  const files = dnsmasqConfiguration(
    network(
      "<forward mode='nat'/><bridge name='virbr7'/>" +
        "<ip address='10.0.0.1' prefix='24'><dhcp><host mac='52:54:00:00:00:0a' ip='10.0.0.10'/>" +
        "<host name='named' ip='10.0.0.11'><lease expiry='3' unit='hours'/></host></dhcp></ip>" +
        "<ip family='ipv6' address='fd00::1' prefix='64'><dhcp><host id='0:1:2' name='six' ip='fd00::20'/></dhcp></ip>",
    ),
    { stateDir: STATE_DIR },
  );
  assert.equal(
    files.hostsFile,
    "52:54:00:00:00:0a,10.0.0.10\nnamed,10.0.0.11,3h\nid:0:1:2,six,[fd00::20]\n",
  );
  assert.match(files.config, /^dhcp-range=10\.0\.0\.1,static$/m);
  assert.match(files.config, /^dhcp-range=fd00::1,static,64$/m);
  assert.match(files.config, /^enable-ra$/m);
  assert.doesNotMatch(files.config, /dhcp-lease-max/);
});

Deno.test("dnsmasqConfiguration() groups DNS host names by address in the hosts file", () => {
  const files = dnsmasqConfiguration(
    network(
      "<forward mode='nat'/><bridge name='virbr7'/><dns><host ip='10.0.0.5'><hostname>a</hostname>" +
        "<hostname>b</hostname></host><host ip='10.0.0.6'><hostname>c</hostname></host>" +
        "<host ip='10.0.0.5'><hostname>d</hostname></host></dns><ip address='10.0.0.1' prefix='24'/>",
    ),
    { stateDir: STATE_DIR },
  );
  assert.equal(files.addnHosts, "10.0.0.5\ta\tb\td\t\n10.0.0.6\tc\t\n");
  assert.equal(files.addnHostsPath, `${STATE_DIR}/net.addnhosts`);
});

Deno.test("needsDnsmasq() wants an address and either DHCP, TFTP or DNS", () => {
  assert.equal(needsDnsmasq(network("<forward mode='bridge'/><bridge name='br0'/>")), false);
  assert.equal(
    needsDnsmasq(network("<dns enable='no'/><ip address='10.0.0.1' prefix='24'/>")),
    false,
  );
  assert.equal(needsDnsmasq(network("<ip address='10.0.0.1' prefix='24'/>")), true);
  assert.equal(
    needsDnsmasq(
      network("<dns enable='no'/><ip address='10.0.0.1' prefix='24'><tftp root='/srv/tftp'/></ip>"),
    ),
    true,
  );
});

Deno.test("dnsmasqCommand() passes the configuration, a read-only lease file and the lease script", () => {
  assert.deepEqual(
    dnsmasqCommand({ configPath: "/run/n.conf", leaseScriptPath: "/opt/lease", bridge: "virbr7" }),
    {
      args: ["--conf-file=/run/n.conf", "--leasefile-ro", "--dhcp-script=/opt/lease"],
      env: { VIR_BRIDGE_NAME: "virbr7" },
    },
  );
});

testIf(
  "dnsmasq --test accepts every configuration generated here",
  missing("dnsmasq"),
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "evirt-dnsmasq-" });
    try {
      const bodies = [
        "<bridge name='virbr7'/><ip address='10.0.0.1' prefix='24'><dhcp><range start='10.0.0.2' end='10.0.0.9'><lease expiry='0'/></range></dhcp><tftp root='/srv'/></ip>",
        "<forward mode='nat'/><bridge name='virbr7'/><mtu size='9000'/><domain name='e.com' localOnly='yes'/>" +
        "<dns forwardPlainNames='no'><forwarder addr='9.9.9.9'/><txt name='t' value='v'/>" +
        "<srv service='www' protocol='tcp' target='w.e.com' port='80'/></dns>" +
        "<ip address='10.0.0.1' prefix='24' localPtr='yes'><dhcp><range start='10.0.0.2' end='10.0.0.9'/><bootp file='pxe.img' server='10.0.0.3'/></dhcp></ip>" +
        "<ip family='ipv6' address='fd00::1' prefix='64'><dhcp><range start='fd00::10' end='fd00::ff'/></dhcp></ip>",
        "<forward mode='route'/><bridge name='virbr7'/><dns enable='no'/><ip address='10.0.0.1' prefix='24'/>" +
        "<ip family='ipv6' address='fd00::1' prefix='64'/>",
      ];
      for (const [index, body] of bodies.entries()) {
        const path = `${dir}/${index}.conf`;
        await Deno.writeTextFile(
          path,
          dnsmasqConfiguration(network(body), { stateDir: dir }).config,
        );
        const run = await runChild("dnsmasq", ["--test", `--conf-file=${path}`], {}, 10_000);
        assert.equal(run.code, 0, `${body}: ${run.stderr}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

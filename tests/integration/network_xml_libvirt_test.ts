/**
 * Network XML side by side with the running libvirtd 9.0: each corpus network definition
 * (`networkxml2xmlin`, `networkxml2confdata`) is defined in libvirtd (`virsh net-define`),
 * read back (`net-dumpxml --inactive`) and undefined; evirt parses, completes
 * ({@linkcode completeNetworkDefinition}) and formats the same text and must print the same
 * document, or refuse it with the same message where libvirtd refuses it.
 *
 * Beside the corpus, {@linkcode OWN_CASES} covers what the corpus does not: metadata, NAT
 * ranges, DNS forwarders and records, leases, local PTR, bootp servers, portgroups with
 * bandwidth, and the refusals of malformed ranges, VLANs, virtual ports, PCI addresses and DNS
 * records.
 *
 * Each definition is renamed, given a fresh UUID and fresh bridge names first, so nothing
 * collides with libvirtd's own networks or another run. Where the input has no bridge MAC,
 * evirt is handed libvirtd's generated one; where it has no bridge name, libvirtd's generated
 * `virbrN` stands for evirt's. Defining never creates a bridge; every definition is undefined
 * in `finally`. Refusals that depend on the host's hardware (an SR-IOV device that is not
 * there) are counted apart. Skipped, with the reason printed, when libvirtd does not answer.
 *
 * @module
 */

import assert from "node:assert/strict";
import { isVirtError } from "../../src/model/errors.ts";
import { completeNetworkDefinition } from "../../src/model/network_defaults.ts";
import { formatNetworkXml } from "../../src/xml/format_network.ts";
import { parseNetworkXml } from "../../src/xml/parse_network.ts";
import { runChild } from "../support/child_process.ts";
import { corpusDir, missing, testIf } from "../support/environment.ts";
import { LIBVIRTD_URI, ORACLE_PREFIX, oracleVirsh } from "../support/libvirtd.ts";

const FOLDERS = [`${corpusDir}/networkxml2xmlin`, `${corpusDir}/networkxml2confdata`];
const VIRSH_PROBE_TIMEOUT_MS = 30_000;

/** Refusals that come from the host's hardware, which evirt does not probe at define. */
const HOST_DEPENDENT = /is not an SR-IOV Virtual Function|\/sys\/bus\/pci/;

async function skipReason(): Promise<string | undefined> {
  const absent = missing("virsh", ...FOLDERS);
  if (absent !== undefined) return absent;
  const run = await runChild("virsh", ["-c", LIBVIRTD_URI, "uri"], {}, VIRSH_PROBE_TIMEOUT_MS);
  return run.code === 0 ? undefined : `libvirtd does not answer on ${LIBVIRTD_URI}`;
}

const skip = await skipReason();

/** evirt's own cases, named for the report; `NAME` is replaced by the run's unique name. */
const OWN_CASES: Record<string, string> = {
  metadata: "<network><name>NAME</name><metadata><app1:foo xmlns:app1='http://foo.org/'>fooish" +
    "</app1:foo><app2:bar xmlns:app2='http://bar.com/' maman='baz'>barish</app2:bar></metadata>" +
    "<forward mode='bridge'/><bridge name='br0'/></network>",
  "metadata-namespaces": "<network xmlns:app1='http://foo.org/'><name>NAME</name>" +
    "<metadata xmlns:app2='http://bar.com/'><app1:foo>fooish<app1:inner a='1'/></app1:foo>" +
    "<app2:bar><app2:x>1</app2:x><app2:y/></app2:bar></metadata></network>",
  "empty-metadata": "<network><name>NAME</name><metadata/></network>",
  "nat-ranges": "<network ipv6='yes' trustGuestRxFilters='yes'><name>NAME</name>" +
    "<forward dev='eth1' mode='nat'><nat><address start='10.20.30.40' end='10.20.30.44'/>" +
    "<port start='60000' end='65432'/></nat></forward><bridge name='virbr0'/>" +
    "<domain name='example.com' localOnly='yes'/><dns forwardPlainNames='yes'>" +
    "<forwarder addr='8.8.8.8'/><forwarder domain='example.com' addr='192.168.1.1'/>" +
    "<forwarder domain='www.example.com'/><txt name='example' value='example value'/>" +
    "<srv service='name' protocol='tcp'/><host ip='fd00::0:5'><hostname>h</hostname></host></dns>" +
    "<ip address='192.168.122.1' netmask='255.255.255.0' localPtr='yes'><dhcp>" +
    "<range start='192.168.122.2' end='192.168.122.254'><lease expiry='5' unit='minutes'/></range>" +
    "<host mac='00:16:3E:77:e2:ed' name='a.example.com' ip='192.168.122.10'>" +
    "<lease expiry='2' unit='hours'/></host><bootp file='pxeboot.img' server='10.20.30.40'/>" +
    "</dhcp></ip><ip family='ipv6' address='2001:DB8:ac10:fd01:0::1' prefix='64'><dhcp>" +
    "<range start='2001:db8:ac10:fd01::1:10' end='2001:db8:ac10:fd01::1:ff'/></dhcp></ip>" +
    "<route address='192.168.222.0' prefix='24' gateway='192.168.122.10' metric='5'/></network>",
  "portgroup-bandwidth": "<network><name>NAME</name><forward mode='nat'/><bandwidth>" +
    "<inbound average='1000' peak='5000' burst='1024'/><outbound average='1000' burst='5000'/>" +
    "</bandwidth><portgroup name='eng' default='yes'><bandwidth><inbound average='1000'/>" +
    "</bandwidth></portgroup><ip address='192.168.122.1' netmask='255.255.255.0'/></network>",
  "bootp-only": "<network><name>NAME</name><ip address='10.0.0.1' prefix='24'><dhcp>" +
    "<bootp file='a.img'/></dhcp></ip></network>",
  "range-network-address": "<network><name>NAME</name><ip address='10.0.0.1' prefix='24'><dhcp>" +
    "<range start='10.0.0.0' end='10.0.0.10'/></dhcp></ip></network>",
  "range-too-large": "<network><name>NAME</name><ip address='10.0.0.1' prefix='8'><dhcp>" +
    "<range start='10.0.255.0' end='10.1.0.10'/></dhcp></ip></network>",
  "range-reversed": "<network><name>NAME</name><ip address='10.0.0.1' prefix='8'><dhcp>" +
    "<range start='10.0.0.9' end='10.0.0.2'/></dhcp></ip></network>",
  "range-other-family": "<network><name>NAME</name><ip address='10.0.0.1' prefix='24'><dhcp>" +
    "<range start='fd00::2' end='fd00::9'/></dhcp></ip></network>",
  "range-outside": "<network><name>NAME</name><ip address='10.0.0.1' prefix='24'><dhcp>" +
    "<range start='10.0.1.2' end='10.0.1.9'/></dhcp></ip></network>",
  "lease-too-short": "<network><name>NAME</name><ip address='10.0.0.1' prefix='24'><dhcp>" +
    "<range start='10.0.0.2' end='10.0.0.9'><lease expiry='1'/></range></dhcp></ip></network>",
  "two-dhcp": "<network><name>NAME</name><ip address='10.0.0.1' prefix='24'><dhcp>" +
    "<range start='10.0.0.2' end='10.0.0.9'/></dhcp></ip><ip address='10.0.1.1' prefix='24'>" +
    "<dhcp><range start='10.0.1.2' end='10.0.1.9'/></dhcp></ip></network>",
  "host-mac-ipv6": "<network><name>NAME</name><ip family='ipv6' address='fd00::1' prefix='64'>" +
    "<dhcp><host mac='52:54:00:00:00:01' ip='fd00::5'/></dhcp></ip></network>",
  "bad-mac": "<network><name>NAME</name><mac address='52:54:00:zz:00:01'/></network>",
  "multicast-mac": "<network><name>NAME</name><mac address='01:00:5e:00:00:01'/></network>",
  "bad-prefix": "<network><name>NAME</name><ip address='10.0.0.1' prefix='33'/></network>",
  "vlan-mode": "<network><name>NAME</name><vlan><tag id='5' nativeMode='bogus'/></vlan></network>",
  "vlan-no-id": "<network><name>NAME</name><vlan><tag/></vlan></network>",
  "virtualport-extra": "<network><name>NAME</name><forward mode='bridge'/><bridge name='br0'/>" +
    "<virtualport type='802.1Qbh'><parameters managerid='3'/></virtualport></network>",
  "virtualport-no-type": "<network><name>NAME</name><virtualport><parameters profileid='x'/>" +
    "</virtualport></network>",
  "pci-function": "<network><name>NAME</name><forward mode='hostdev'><address type='pci' " +
    "domain='0' bus='3' slot='0' function='9'/></forward></network>",
  "pci-slot": "<network><name>NAME</name><forward mode='hostdev'><address type='pci' " +
    "domain='0' bus='3' slot='0x20' function='1'/></forward></network>",
  "pci-bad-bus": "<network><name>NAME</name><forward mode='hostdev'><address type='pci' " +
    "domain='0' bus='x3' slot='0' function='1'/></forward></network>",
  "bridge-stp": "<network><name>NAME</name><forward mode='bridge'/><bridge name='br0' stp='on'/>" +
    "</network>",
  "open-mtu": "<network><name>NAME</name><forward mode='open'/><mtu size='9000'/>" +
    "<ip address='10.0.0.1' prefix='24'/></network>",
  "ipv4-short-forms": "<network><name>NAME</name><ip address='010.0.0.1' prefix='8'/>" +
    "<ip address='11.1' prefix='8'/></network>",
  "bandwidth-twice": "<network><name>NAME</name><bandwidth><inbound average='5'/>" +
    "<inbound average='6'/></bandwidth></network>",
  "srv-port-range": "<network><name>NAME</name><dns><srv service='s' protocol='tcp' target='t' " +
    "port='70000'/></dns><ip address='10.0.0.1' prefix='24'/></network>",
  "route-not-network": "<network><name>NAME</name><forward mode='route'/><ip address='10.0.0.1' " +
    "prefix='24'/><route address='10.9.0.0' gateway='10.0.0.5'/></network>",
  "openvswitch-vlans": "<network><name>NAME</name><forward mode='bridge'/><bridge name='ovsbr0'/>" +
    "<vlan trunk='yes'><tag id='2' nativeMode='untagged'/><tag id='3'/></vlan>" +
    "<virtualport type='openvswitch'><parameters interfaceid='09B11C53-8b5c-4eeb-8f00-d84eaa0aaa3b' " +
    "profileid='p1'/></virtualport><portgroup name='bob' default='yes'><vlan trunk='yes'>" +
    "<tag id='666'/></vlan></portgroup><portgroup name='alice' trustGuestRxFilters='no'><vlan>" +
    "<tag id='777'/><tag id='888' nativeMode='tagged'/></vlan></portgroup></network>",
  "openvswitch-untyped-portgroup": "<network><name>NAME</name><forward mode='bridge'/>" +
    "<bridge name='ovsbr0'/><virtualport type='openvswitch'/><portgroup name='bob' default='yes'>" +
    "<virtualport><parameters profileid='bob-profile' " +
    "interfaceid='09b11c53-8b5c-4eeb-8f00-d84eaa0aaa3b' managerid='5' typeid='6' typeidversion='7' " +
    "instanceid='09b11c53-8b5c-4eeb-8f00-d84eaa0aaa3c'/></virtualport></portgroup></network>",
  "vepa-qbg": "<network><name>NAME</name><forward mode='vepa'><interface dev='eth1'/></forward>" +
    "<virtualport type='802.1Qbg'><parameters managerid='0x0b' typeid='0' typeidversion='010' " +
    "instanceid='09b11c53-8b5c-4eeb-8f00-d84eaa0aaa3c'/></virtualport></network>",
  "default-portgroups": "<network><name>NAME</name><portgroup name='a' default='yes'/>" +
    "<portgroup name='b' default='yes'/></network>",
};

/** The text with a fresh name, UUID and bridge names. */
function renamed(text: string, name: string, tag: string): string {
  let count = 0;
  const uuid = `<uuid>${crypto.randomUUID()}</uuid>`;
  const withUuid = /<uuid>/.test(text)
    ? text.replace(/<uuid>[^<]*<\/uuid>/, uuid)
    : text.replace(/<\/name>/, `</name>${uuid}`);
  return withUuid
    .replace(/<name>[^<]*<\/name>/, `<name>${name}</name>`)
    .replace(
      /(<bridge\b[^>]*\bname=)(['"])[^'"]*\2/g,
      (_match, head: string, quote: string) => `${head}${quote}${tag}${count++}${quote}`,
    );
}

/** What evirt makes of the text, given libvirtd's generated MAC and bridge name. */
function evirtXml(text: string, theirs: string): string {
  const theirMac = /<mac address='([^']+)'\/>/.exec(theirs)?.[1];
  const theirBridge = /<bridge name='([^']+)'/.exec(theirs)?.[1];
  const parsed = parseNetworkXml(text);
  const done = completeNetworkDefinition(parsed, {
    otherNetworks: [],
    generateMac: () => theirMac ?? "52:54:00:00:00:00",
  });
  let xml = formatNetworkXml(done, { inactive: true });
  const mine = /<bridge name='([^']+)'/.exec(xml)?.[1];
  if (parsed.bridge.name === undefined && mine !== undefined && theirBridge !== undefined) {
    assert.match(mine, /^virbr\d+$/);
    assert.match(theirBridge, /^virbr\d+$/);
    xml = xml.replace(`<bridge name='${mine}'`, `<bridge name='${theirBridge}'`);
  }
  return xml;
}

function evirtRefusal(text: string): string | undefined {
  try {
    completeNetworkDefinition(parseNetworkXml(text), { otherNetworks: [] });
    return undefined;
  } catch (error) {
    if (!isVirtError(error)) throw error;
    return error.fullMessage;
  }
}

/** Every case: the corpus files, then evirt's own. */
function allCases(): [string, string][] {
  const cases: [string, string][] = [];
  for (const folder of FOLDERS) {
    const files = [...Deno.readDirSync(folder)].map((entry) => entry.name)
      .filter((file) => file.endsWith(".xml")).sort();
    for (const file of files) cases.push([file, Deno.readTextFileSync(`${folder}/${file}`)]);
  }
  return [...cases, ...Object.entries(OWN_CASES)];
}

/** libvirtd's last error line, without virsh's `error: ` (trailing spaces are libvirt's). */
function lastError(stderr: string): string | undefined {
  return stderr.split("\n").filter((line) => line !== "").at(-1)?.replace(/^error: /, "");
}

testIf(
  "network XML: evirt prints what libvirtd 9.0 keeps for each definition, or refuses it alike",
  skip,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "evirt-netxml-" });
    const run = crypto.randomUUID().slice(0, 6);
    const equal: string[] = [];
    const refusedAlike: string[] = [];
    const hostDependent: string[] = [];
    const problems: string[] = [];
    try {
      for (const [index, [label, source]] of allCases().entries()) {
        const name = `${ORACLE_PREFIX}net-${run}-${index}`;
        const text = renamed(source, name, `ev${run}${index}`);
        const path = `${dir}/${name}.xml`;
        await Deno.writeTextFile(path, text);
        const defined = await oracleVirsh(["net-define", path]);
        if (defined.code !== 0) {
          const message = lastError(defined.stderr);
          if (message !== undefined && HOST_DEPENDENT.test(message)) {
            hostDependent.push(`${label}: ${message}`);
            continue;
          }
          const mine = evirtRefusal(text);
          if (mine === message) refusedAlike.push(label);
          else problems.push(`${label}: libvirtd refuses "${message}", evirt says "${mine}"`);
          continue;
        }
        try {
          const dumped = await oracleVirsh(["net-dumpxml", "--inactive", name]);
          assert.equal(dumped.code, 0, dumped.stderr);
          const theirs = dumped.stdout.replace(/\n\n$/, "\n");
          let mine: string;
          try {
            mine = evirtXml(text, theirs);
          } catch (error) {
            if (!isVirtError(error)) throw error;
            problems.push(`${label}: libvirtd accepts, evirt refuses "${error.fullMessage}"`);
            continue;
          }
          if (mine === theirs) equal.push(label);
          else problems.push(`${label}: differs\n--- libvirtd\n${theirs}--- evirt\n${mine}`);
        } finally {
          const undefined_ = await oracleVirsh(["net-undefine", name]);
          assert.equal(undefined_.code, 0, undefined_.stderr);
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    console.log(
      `network XML vs libvirtd: ${equal.length} equal, ${refusedAlike.length} refused alike, ` +
        `${hostDependent.length} refused by libvirtd for the host's hardware, ` +
        `${problems.length} differing`,
    );
    for (const line of hostDependent) console.log(`  host-dependent ${line}`);
    assert.deepEqual(problems, []);
    assert.ok(equal.length >= 35, `only ${equal.length} equal`);
    assert.ok(refusedAlike.length >= 20, `only ${refusedAlike.length} refused alike`);
  },
);

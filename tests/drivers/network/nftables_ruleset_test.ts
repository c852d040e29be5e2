import assert from "node:assert/strict";
import {
  networkChainNames,
  NFT_TABLE,
  nftablesRemoval,
  nftablesRuleset,
} from "../../../drivers/network/nftables_ruleset.ts";
import type { NetworkDefinition } from "../../../src/model/network.ts";
import { completeNetworkDefinition } from "../../../src/model/network_defaults.ts";
import { parseNetworkXml } from "../../../src/xml/parse_network.ts";
import { runChild } from "../../support/child_process.ts";
import { missing, testIf } from "../../support/environment.ts";

const NFT_TIMEOUT_MS = 10_000;

function network(body: string): NetworkDefinition {
  return completeNetworkDefinition(
    parseNetworkXml(
      `<network><name>net</name><uuid>81ff0d90-c91e-6742-64da-4a736edb9a9b</uuid>${body}</network>`,
    ),
    { otherNetworks: [], generateMac: () => "52:54:00:00:00:01" },
  );
}

/** The rules of one hook's chain, without the table and chain prefix. */
function chainRules(
  script: string,
  hook: "input" | "output" | "forward" | "postrouting",
): string[] {
  const prefix = `add rule inet ${NFT_TABLE} br_virbr7_${hook} `;
  return script.split("\n").filter((line) => line.startsWith(prefix)).map((line) =>
    line.slice(prefix.length)
  );
}

const NAT = "<forward mode='nat'/><bridge name='virbr7'/>" +
  "<ip address='192.168.122.1' netmask='255.255.255.0'><dhcp><range start='192.168.122.2' end='192.168.122.9'/></dhcp></ip>" +
  "<ip family='ipv6' address='fd00::1' prefix='64'/>";

Deno.test("nftablesRuleset() forwards and masquerades a NAT network's IPv4 and routes its IPv6", () => {
  const script = nftablesRuleset(network(NAT));
  assert.deepEqual(chainRules(script, "forward"), [
    'iifname "virbr7" oifname "virbr7" accept',
    'oifname "virbr7" ip daddr 192.168.122.0/24 ct state related,established accept',
    'oifname "virbr7" ip6 daddr fd00::/64 accept',
    'oifname "virbr7" reject',
    'iifname "virbr7" ip saddr 192.168.122.0/24 accept',
    'iifname "virbr7" ip6 saddr fd00::/64 accept',
    'iifname "virbr7" reject',
  ]);
  assert.deepEqual(chainRules(script, "postrouting"), [
    "ip saddr 192.168.122.0/24 ip daddr 224.0.0.0/24 return",
    "ip saddr 192.168.122.0/24 ip daddr 255.255.255.255 return",
    "meta l4proto tcp ip saddr 192.168.122.0/24 ip daddr != 192.168.122.0/24 masquerade to :1024-65535",
    "meta l4proto udp ip saddr 192.168.122.0/24 ip daddr != 192.168.122.0/24 masquerade to :1024-65535",
    "ip saddr 192.168.122.0/24 ip daddr != 192.168.122.0/24 masquerade",
  ]);
  assert.ok(
    chainRules(script, "input").includes('iifname "virbr7" meta nfproto ipv6 udp dport 547 accept'),
  );
});

Deno.test("nftablesRuleset() uses the forward dev and the <nat> address and port ranges", () => {
  const script = nftablesRuleset(network(
    "<forward mode='nat' dev='eth1'><nat ipv6='yes'><address start='10.1.1.5' end='10.1.1.9'/><port start='2000' end='3000'/></nat></forward>" +
      "<bridge name='virbr7'/><ip address='192.168.5.1' prefix='24'/><ip family='ipv6' address='fd00::1' prefix='64'/>",
  ));
  const postrouting = chainRules(script, "postrouting");
  assert.ok(postrouting.includes(
    'meta l4proto tcp ip saddr 192.168.5.0/24 ip daddr != 192.168.5.0/24 oifname "eth1" snat ip to 10.1.1.5-10.1.1.9:2000-3000',
  ));
  assert.ok(postrouting.includes(
    'ip saddr 192.168.5.0/24 ip daddr != 192.168.5.0/24 oifname "eth1" snat ip to 10.1.1.5-10.1.1.9',
  ));
  assert.ok(postrouting.includes(
    'ip6 saddr fd00::/64 ip6 daddr != fd00::/64 oifname "eth1" masquerade',
  ));
  assert.ok(
    chainRules(script, "forward").includes(
      'oifname "virbr7" ip daddr 192.168.5.0/24 iifname "eth1" ct state related,established accept',
    ),
  );
});

Deno.test("nftablesRuleset() routes a route network without NAT", () => {
  const script = nftablesRuleset(
    network("<forward mode='route'/><bridge name='virbr7'/><ip address='10.9.0.1' prefix='16'/>"),
  );
  assert.deepEqual(chainRules(script, "postrouting"), []);
  assert.ok(chainRules(script, "forward").includes('oifname "virbr7" ip daddr 10.9.0.0/16 accept'));
});

Deno.test("nftablesRuleset() keeps an isolated network's guests on their bridge", () => {
  const script = nftablesRuleset(
    network("<bridge name='virbr7'/><ip address='10.9.0.1' prefix='16'><tftp root='/srv'/></ip>"),
  );
  assert.deepEqual(chainRules(script, "forward"), [
    'iifname "virbr7" oifname "virbr7" accept',
    'oifname "virbr7" reject',
    'iifname "virbr7" reject',
  ]);
  assert.ok(
    chainRules(script, "input").includes('iifname "virbr7" meta nfproto ipv4 udp dport 69 accept'),
  );
});

Deno.test("nftablesRuleset() writes nothing for open and bridge networks", () => {
  assert.equal(
    nftablesRuleset(network("<forward mode='open'/><ip address='10.0.0.1' prefix='24'/>")),
    "",
  );
  assert.equal(nftablesRuleset(network("<forward mode='bridge'/><bridge name='br0'/>")), "");
});

Deno.test("networkChainNames() escapes bridge names so distinct names stay distinct", () => {
  assert.equal(networkChainNames("virbr0").forward, "br_virbr0_forward");
  assert.notEqual(networkChainNames("a-b").forward, networkChainNames("a_b").forward);
  assert.match(networkChainNames("a.b-c_d").input, /^[A-Za-z0-9_]+$/);
});

const root = Deno.uid() === 0 ? undefined : "needs root for nft";
const nftSkip = missing("nft") ?? root;

testIf("nft --check accepts every ruleset and removal generated here", nftSkip, async () => {
  const dir = await Deno.makeTempDir({ prefix: "evirt-nft-" });
  try {
    const scripts = [
      nftablesRuleset(network(NAT)),
      nftablesRuleset(network(
        "<forward mode='nat' dev='eth1'><nat ipv6='yes'><address start='10.1.1.5' end='10.1.1.9'/><port start='2000' end='3000'/></nat></forward>" +
          "<bridge name='virbr7'/><ip address='192.168.5.1' prefix='24'/><ip family='ipv6' address='fd00::1' prefix='64'/>",
      )),
      nftablesRuleset(
        network(
          "<forward mode='route'/><bridge name='virbr7'/><ip address='10.9.0.1' prefix='16'/>",
        ),
      ),
      nftablesRuleset(network("<bridge name='virbr7'/><ip address='10.9.0.1' prefix='16'/>")),
      nftablesRemoval("virbr7"),
    ];
    for (const [index, script] of scripts.entries()) {
      const path = `${dir}/${index}.nft`;
      await Deno.writeTextFile(path, script);
      const run = await runChild("nft", ["--check", "-f", path], {}, NFT_TIMEOUT_MS);
      assert.equal(run.code, 0, `${script}\n${run.stderr}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

testIf(
  "nftables rules applied twice in a network namespace stay the same and go exactly on removal",
  nftSkip ?? missing("unshare"),
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "evirt-nft-" });
    try {
      const other = network(
        "<forward mode='route'/><bridge name='virbr8'/><ip address='10.8.0.1' prefix='16'/>",
      );
      await Deno.writeTextFile(`${dir}/a.nft`, nftablesRuleset(network(NAT)));
      await Deno.writeTextFile(`${dir}/b.nft`, nftablesRuleset(other));
      await Deno.writeTextFile(`${dir}/remove.nft`, nftablesRemoval("virbr7"));
      // One namespace of its own: the host's rules are never touched.
      const script = [
        `nft -f ${dir}/b.nft`,
        `nft -f ${dir}/a.nft`,
        `nft -f ${dir}/a.nft`,
        `nft list table inet ${NFT_TABLE} > ${dir}/applied.txt`,
        `nft -f ${dir}/remove.nft`,
        `nft -f ${dir}/remove.nft`,
        `nft list table inet ${NFT_TABLE} > ${dir}/removed.txt`,
      ].join(" && ");
      const run = await runChild("unshare", ["-n", "sh", "-c", script], {}, NFT_TIMEOUT_MS);
      assert.equal(run.code, 0, run.stderr);
      const applied = await Deno.readTextFile(`${dir}/applied.txt`);
      assert.equal(applied.split("\n").filter((line) => line.includes("masquerade")).length, 3);
      assert.equal((applied.match(/chain br_virbr7_forward/g) ?? []).length, 1);
      const removed = await Deno.readTextFile(`${dir}/removed.txt`);
      assert.doesNotMatch(removed, /virbr7/);
      assert.match(removed, /chain br_virbr8_forward/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

import assert from "node:assert/strict";
import {
  checkLxcDefinition,
  completeLxcDefinition,
} from "../../../drivers/lxc/lxc_definition_rules.ts";
import { applyDomainDefaults } from "../../../src/model/domain_defaults.ts";
import { isVirtError } from "../../../src/model/errors.ts";
import { formatDomainXml, parseDomainXml, validateDomain } from "../../../src/xml/mod.ts";
import { testIf } from "../../support/environment.ts";
import { lxcOracleSkipReason, lxcOracleVirsh, ORACLE_PREFIX } from "../../support/libvirtd.ts";

const NAME = `${ORACLE_PREFIX}lxc-rules`;
const UUID = "3c1d3e0a-6d0f-4f5e-9a51-2b8f1f0c7d11";
const HEAD = `<domain type='lxc'><name>${NAME}</name><uuid>${UUID}</uuid><memory>65536</memory>`;
const OS = "<os><type>exe</type><init>/bin/sh</init></os>";

/** Define as evirt runs it for an LXC domain; the inactive XML. */
function define(xml: string): string {
  const completed = completeLxcDefinition(
    applyDomainDefaults(parseDomainXml(xml), { generateMac: () => "52:54:00:00:00:01" }),
  );
  checkLxcDefinition(completed);
  validateDomain(completed);
  return formatDomainXml(completed, { inactive: true });
}

/** Refusals libvirt 9.0's LXC driver makes at define (observed with `virsh -c lxc:///system define`). */
const REFUSALS: { name: string; xml: string; code: number; message: string }[] = [
  {
    name: "an os type other than exe",
    xml: `${HEAD}<os><type>hvm</type><init>/bin/sh</init></os></domain>`,
    code: 8,
    message: "invalid argument: could not find capabilities for arch=x86_64 domaintype=lxc ",
  },
  {
    name: "an architecture the host has no containers of",
    xml: `${HEAD}<os><type arch='aarch64'>exe</type><init>/bin/sh</init></os></domain>`,
    code: 8,
    message:
      "invalid argument: could not find capabilities for ostype=exe arch=aarch64 domaintype=lxc ",
  },
  {
    name: "no init",
    xml: `${HEAD}<os><type>exe</type></os></domain>`,
    code: 27,
    message: "XML error: init binary must be specified",
  },
  {
    name: "an initenv without a value",
    xml:
      `${HEAD}<os><type>exe</type><init>/bin/sh</init><initenv name='E'></initenv></os></domain>`,
    code: 27,
    message: "XML error: No value supplied for <initenv name='E'> element",
  },
  {
    name: "a filesystem without a target",
    xml: `${HEAD}${OS}<devices><filesystem><source dir='/tmp'/></filesystem></devices></domain>`,
    code: 20,
    message: "missing target information for device /tmp",
  },
  {
    name: "a filesystem without a source",
    xml: `${HEAD}${OS}<devices><filesystem><target dir='/tmp'/></filesystem></devices></domain>`,
    code: 19,
    message: "missing source information for device /tmp",
  },
  {
    name: "a block filesystem without a device",
    xml:
      `${HEAD}${OS}<devices><filesystem type='block'><target dir='/r'/></filesystem></devices></domain>`,
    code: 19,
    message: "missing source information for device /r",
  },
  {
    name: "a RAM filesystem without a size",
    xml:
      `${HEAD}${OS}<devices><filesystem type='ram'><target dir='/tmp'/></filesystem></devices></domain>`,
    code: 27,
    message: "XML error: missing 'usage' attribute for RAM filesystem",
  },
  {
    name: "an unknown filesystem type",
    xml:
      `${HEAD}${OS}<devices><filesystem type='foo'><source dir='/tmp'/><target dir='/x'/></filesystem></devices></domain>`,
    code: 27,
    message: "XML error: Invalid value for attribute 'type' in element 'filesystem': 'foo'.",
  },
  {
    name: "an unknown capability",
    xml:
      `${HEAD}${OS}<features><capabilities policy='deny'><foo state='on'/></capabilities></features></domain>`,
    code: 67,
    message: "unsupported configuration: unexpected capability feature 'foo'",
  },
  {
    name: "a capability state other than on or off",
    xml:
      `${HEAD}${OS}<features><capabilities policy='deny'><mknod state='default'/></capabilities></features></domain>`,
    code: 27,
    message: "XML error: Invalid value for attribute 'state' in element 'mknod': 'default'.",
  },
  {
    name: "an unknown capability policy",
    xml: `${HEAD}${OS}<features><capabilities policy='x'/></features></domain>`,
    code: 27,
    message: "XML error: Invalid value for attribute 'policy' in element 'capabilities': 'x'.",
  },
  {
    name: "a uid map without a gid map",
    xml: `${HEAD}${OS}<idmap><uid start='0' target='1000' count='10'/></idmap></domain>`,
    code: 67,
    message: "unsupported configuration: uid and gid should be mapped both",
  },
  {
    name: "id maps that leave the container's root unmapped",
    xml:
      `${HEAD}${OS}<idmap><uid start='1' target='1000' count='10'/><gid start='1' target='1000' count='10'/></idmap></domain>`,
    code: 67,
    message: "unsupported configuration: You must map the root user of container",
  },
  {
    name: "graphics without a video model",
    xml: `${HEAD}${OS}<devices><graphics type='vnc'/></devices></domain>`,
    code: 1,
    message: "internal error: missing video model and cannot determine default",
  },
];

for (const item of REFUSALS) {
  Deno.test(`LXC define refuses ${item.name}`, () => {
    try {
      define(item.xml);
      assert.fail("accepted");
    } catch (error) {
      assert.ok(isVirtError(error, item.code), String(error));
      assert.equal(error.fullMessage, item.message);
      assert.ok(error.where?.startsWith("/domain"), error.where);
    }
  });
}

/** Definitions libvirt accepts and completes. */
const COMPLETIONS: { name: string; xml: string; has: string[] }[] = [
  {
    name:
      "defaults: arch, emulator, filesystem type and access mode, RAM size in KiB, console target",
    xml: `${HEAD}${OS}<devices><filesystem><source dir='/tmp'/><target dir='/mnt'/></filesystem>` +
      "<filesystem type='ram'><source usage='3' units='MiB'/><target dir='/r'/></filesystem>" +
      "<filesystem type='file'><driver type='loop' format='raw'/><source file='/x.img'/><target dir='/f'/></filesystem>" +
      "<interface type='ethernet'/><console type='pty'/></devices></domain>",
    has: [
      "<type arch='x86_64'>exe</type>",
      "<emulator>/usr/libexec/libvirt_lxc</emulator>",
      "<filesystem type='mount' accessmode='passthrough'>\n      <source dir='/tmp'/>",
      "<source usage='3072' units='KiB'/>",
      "<filesystem type='file' accessmode='passthrough'>\n      <driver type='loop' format='raw'/>\n      <source file='/x.img'/>",
      "<console type='pty'>\n      <target type='lxc' port='0'/>",
    ],
  },
  {
    name:
      "ordering: id maps by start, capabilities in libvirt's order, a bare toggle is on; ports renumbered",
    xml: `${HEAD}<os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg>` +
      "<initenv name='FOO'>bar</initenv><initdir>/w</initdir><inituser>u</inituser><initgroup>g</initgroup></os>" +
      "<idmap><gid start='0' target='1000' count='10'/><uid start='10' target='2000' count='10'/>" +
      "<uid start='0' target='1000' count='10'/></idmap>" +
      "<features><capabilities policy='deny'><sys_module state='on'/><mknod/><chown state='off'/></capabilities><privnet/></features>" +
      "<devices><filesystem accessmode='mapped'><source dir='/tmp'/><target dir='x'/><readonly/></filesystem>" +
      "<console type='pty'><target port='3'/></console><console type='pty'/></devices></domain>",
    has: [
      "<init>/bin/sh</init>\n    <initarg>-c</initarg>\n    <initenv name='FOO'>bar</initenv>\n" +
      "    <initdir>/w</initdir>\n    <inituser>u</inituser>\n    <initgroup>g</initgroup>",
      "<uid start='0' target='1000' count='10'/>\n    <uid start='10' target='2000' count='10'/>\n" +
      "    <gid start='0' target='1000' count='10'/>",
      "<features>\n    <privnet/>\n    <capabilities policy='deny'>\n      <chown state='off'/>\n" +
      "      <mknod state='on'/>\n      <sys_module state='on'/>",
      "<filesystem type='mount' accessmode='mapped'>",
      "<target type='lxc' port='0'/>",
      "<target type='lxc' port='1'/>",
    ],
  },
  {
    name:
      "interfaces a container runs: network, bridge, ethernet with guest names, addresses, routes",
    xml: `${HEAD}${OS}<devices>` +
      "<interface type='network'><source network='default'/><guest dev='lan0'/>" +
      "<ip address='192.168.122.5' prefix='24'/><route address='10.1.0.0' prefix='16' gateway='192.168.122.1'/></interface>" +
      "<interface type='bridge'><mac address='52:54:00:7e:00:09'/><source bridge='br0'/><mtu size='1400'/>" +
      "<ip address='fd00::5' family='ipv6' prefix='64'/><link state='down'/></interface>" +
      "<interface type='ethernet'><target dev='vethx0'/><ip address='10.0.0.2'/></interface>" +
      "</devices></domain>",
    has: [
      "<interface type='network'>",
      "<guest dev='lan0'/>",
      "<ip address='192.168.122.5' family='ipv4' prefix='24'/>",
      "<route address='10.1.0.0' prefix='16' gateway='192.168.122.1'/>",
      "<ip address='10.0.0.2' family='ipv4'/>",
      "<mac address='52:54:00:7e:00:09'/>",
    ],
  },
  {
    name: "capabilities with the default policy and no toggle go, and so does an empty <features>",
    xml: `${HEAD}${OS}<features><capabilities/></features></domain>`,
    has: ["</os>\n  <clock offset='utc'/>"],
  },
];

for (const item of COMPLETIONS) {
  Deno.test(`LXC define completes: ${item.name}`, () => {
    const xml = define(item.xml);
    for (const fragment of item.has) assert.ok(xml.includes(fragment), `${fragment}\n${xml}`);
  });
}

/** libvirtd's emulator path is its build's; evirt names libvirt's default. */
function comparable(text: string): string {
  return text.replace(/\n\n$/, "\n").replace(
    /<emulator>[^<]*<\/emulator>/,
    "<emulator>/usr/libexec/libvirt_lxc</emulator>",
  ).replace(/<mac address='[^']*'\/>/g, "<mac address='…'/>");
}

testIf(
  "LXC define refuses and completes as libvirtd's LXC driver does",
  lxcOracleSkipReason,
  async () => {
    const temp = await Deno.makeTempDir({ prefix: "evirt-lxcrules-" });
    const problems: string[] = [];
    try {
      for (const item of [...REFUSALS, ...COMPLETIONS]) {
        const path = `${temp}/domain.xml`;
        await Deno.writeTextFile(path, item.xml);
        const defined = await lxcOracleVirsh(["define", path]);
        try {
          if ("message" in item) {
            const said = defined.stderr.split("\n").find((line) =>
              line.startsWith("error: ") &&
              !line.startsWith("error: Failed to define")
            );
            if (defined.code === 0 || said !== `error: ${item.message}`) {
              problems.push(`${item.name}: libvirtd ${defined.code === 0 ? "accepts it" : said}`);
            }
            continue;
          }
          if (defined.code !== 0) {
            problems.push(`${item.name}: libvirtd refuses it: ${defined.stderr.trim()}`);
            continue;
          }
          const dumped = await lxcOracleVirsh(["dumpxml", "--inactive", NAME]);
          if (comparable(dumped.stdout) !== comparable(define(item.xml))) {
            problems.push(`${item.name}: differs`);
            console.error(`--- libvirtd\n${dumped.stdout}--- evirt\n${define(item.xml)}`);
          }
        } finally {
          if (defined.code === 0) await lxcOracleVirsh(["undefine", NAME]);
        }
      }
    } finally {
      await Deno.remove(temp, { recursive: true });
    }
    assert.deepEqual(problems, []);
  },
);

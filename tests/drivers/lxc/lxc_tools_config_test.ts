import assert from "node:assert/strict";
import { lxcToolsToDomain } from "../../../drivers/lxc/lxc_tools_config.ts";
import { isVirtError } from "../../../src/model/errors.ts";
import { formatDomainXml } from "../../../src/xml/mod.ts";
import { testIf } from "../../support/environment.ts";
import { lxcOracleSkipReason, lxcOracleVirsh } from "../../support/libvirtd.ts";

const UUID = "c7a5fdbd-edaf-9455-926a-d65c16db1809";
const BASE = "lxc.rootfs = /r\nlxc.utsname = n\n";

function convert(text: string, uuid = UUID): string {
  return formatDomainXml(lxcToolsToDomain(text, { generateUuid: () => uuid }), { inactive: true });
}

/** The message a refusal prints (libvirt's prefix and detail). */
function refusal(text: string): string {
  try {
    convert(text);
  } catch (error) {
    if (isVirtError(error)) return error.fullMessage;
    throw error;
  }
  assert.fail("converted, expected a refusal");
}

/**
 * Configurations and what libvirt 9.0 gives for them (observed with `virsh domxml-from-native
 * lxc-tools`): a fragment of the XML, or its error message.
 */
const CASES: { name: string; config: string; has?: string[]; error?: string }[] = [
  {
    name: "a veth without hwaddr gets the zero MAC, and no flags is link down",
    config: `${BASE}lxc.network.type = veth\nlxc.network.ipv4 = 10.0.0.1/0\n`,
    has: [
      "<interface type='ethernet'>\n      <mac address='00:00:00:00:00:00'/>\n" +
      "      <ip address='10.0.0.1' family='ipv4'/>\n      <link state='down'/>",
    ],
  },
  {
    name: "an unknown network type is a user interface",
    config: `${BASE}lxc.network.type = foo\nlxc.network.name = e0\nlxc.network.hwaddr = zz\n`,
    has: [
      "<interface type='user'>\n      <mac address='00:00:00:00:00:00'/>\n      <guest dev='e0'/>",
    ],
  },
  {
    name: "lxc.net.N and legacy lxc.network entries share index numbers",
    config:
      `${BASE}lxc.network.type = veth\nlxc.net.1.link = br0\nlxc.net.0.type = veth\nlxc.net.0.flags = up\n`,
    has: [
      "<interface type='bridge'>\n      <mac address='00:00:00:00:00:00'/>\n" +
      "      <source bridge='br0'/>\n      <link state='down'/>\n    </interface>\n" +
      "    <interface type='ethernet'>\n      <mac address='00:00:00:00:00:00'/>\n" +
      "      <link state='up'/>",
    ],
  },
  {
    name: "an unknown macvlan mode is vepa",
    config: `${BASE}lxc.net.0.type = macvlan\nlxc.net.0.link = e\nlxc.net.0.macvlan.mode = xx\n`,
    has: ["<source dev='e' mode='vepa'/>"],
  },
  {
    name: "an empty network gives neither an interface nor privnet",
    config: `${BASE}lxc.network.type = empty\n`,
    has: ["<features>\n    <capabilities policy='allow'/>\n  </features>"],
  },
  {
    name: "mount entries: block devices, bind mounts, tmpfs sizes; basic mounts skipped",
    config: "lxc.rootfs = /dev/sda1\nlxc.utsname = n\n" +
      "lxc.mount.entry = /dev/sdb1 mnt ext4 ro 0 0\nlxc.mount.entry = /srv /srv none bind 0 0\n" +
      "lxc.mount.entry = proc /proc proc defaults 0 0\n" +
      "lxc.mount.entry = tmpfs /dev/shm tmpfs size=1M 0 0\n",
    has: [
      "<filesystem type='block' accessmode='passthrough'>\n      <source dev='/dev/sda1'/>",
      "<source dev='/dev/sdb1'/>\n      <target dir='/mnt'/>\n      <readonly/>",
      "<source dir='/srv'/>\n      <target dir='/srv'/>\n    </filesystem>\n" +
      "    <filesystem type='ram' accessmode='passthrough'>\n" +
      "      <source usage='1024' units='KiB'/>\n      <target dir='/dev/shm'/>",
    ],
  },
  {
    name: "cpuset, memory limits with units",
    config: `${BASE}lxc.cgroup.cpuset.mems = 0,1\nlxc.cgroup.cpuset.cpus = 0-3,2\n` +
      "lxc.cgroup.memory.soft_limit_in_bytes = 1G\nlxc.cgroup.memory.limit_in_bytes = 1000k\n",
    has: [
      "<memory unit='KiB'>1000</memory>\n  <currentMemory unit='KiB'>1000</currentMemory>\n" +
      "  <memtune>\n    <hard_limit unit='KiB'>1000</hard_limit>\n" +
      "    <soft_limit unit='KiB'>1048576</soft_limit>\n  </memtune>\n" +
      "  <vcpu placement='static' cpuset='0-3'>1</vcpu>\n  <numatune>\n" +
      "    <memory mode='strict' nodeset='0-1'/>\n  </numatune>",
    ],
  },
  {
    name: "a blkio key libvirt does not know adds a device with nothing to write",
    config:
      `${BASE}lxc.cgroup.blkio.throttle.read_bps_device = 8:0 10\nlxc.cgroup.blkio.foo = 8:1 3\n`,
    has: [
      "<blkiotune>\n    <device>\n      <path>/dev/block/8:0</path>\n" +
      "      <read_bytes_sec>10</read_bytes_sec>\n    </device>\n  </blkiotune>",
    ],
  },
  {
    name: "lxc.cap.drop: the first entry, split at single spaces",
    config: `${BASE}lxc.cap.drop = mknod  foo\tchown\nlxc.cap.drop = kill\n`,
    has: ["<capabilities policy='allow'>\n      <mknod state='off'/>\n    </capabilities>"],
  },
  {
    name: "the LXC 3.0 keys come first",
    config: "lxc.rootfs.path = /r\nlxc.rootfs = /q\nlxc.uts.name = a\nlxc.utsname = m\n",
    has: ["<name>a</name>", "<source dir='/r'/>"],
  },
  {
    name: "id maps: strtoul of a negative number wraps; leading blanks are skipped",
    config: `${BASE}lxc.idmap = u -1 0 5\nlxc.idmap = g 0 0 5\n`,
    has: [
      "<uid start='0' target='4294967295' count='5'/>\n    <gid start='0' target='0' count='5'/>",
    ],
  },
  {
    name: "addresses are written canonically; inet_aton forms are read",
    config: `${BASE}lxc.net.0.type = veth\nlxc.net.0.ipv6.gateway = 2003:0db8::0001\n` +
      "lxc.net.0.ipv6.address = 2003:0DB8::1/64\nlxc.net.0.ipv4.address = 10.1/8\n",
    has: [
      "<ip address='2003:db8::1' family='ipv6' prefix='64'/>\n" +
      "      <ip address='10.0.0.1' family='ipv4' prefix='8'/>\n" +
      "      <route family='ipv6' address='::' gateway='2003:db8::1'/>",
    ],
  },
  {
    name: "consoles from lxc.tty with a sign",
    config: `${BASE}lxc.tty = +2\n`,
    has: ["<target type='lxc' port='0'/>", "<target type='lxc' port='1'/>"],
  },
  {
    name: "an unknown architecture is left out, x86 is i686",
    config: `${BASE}lxc.arch = foo\n`,
    has: ["<type>exe</type>"],
  },
  {
    name: "quoted values and comments after them",
    config: `lxc.rootfs = '/r'\nlxc.utsname = "n" # the name\n`,
    has: ["<name>n</name>", "<source dir='/r'/>"],
  },
  {
    name: "syntax: a name starts with a letter",
    config: `${BASE}1abc = 3\n`,
    error: "configuration file syntax error: memory conf:3: expecting a name",
  },
  {
    name: "syntax: an assignment",
    config: `${BASE}lxc.foo-bar = 1\n`,
    error: "configuration file syntax error: memory conf:3: expecting an assignment",
  },
  {
    name: "syntax: nothing may follow a quoted value",
    config: `${BASE}lxc.foo = "abc" junk\n`,
    error: "configuration file syntax error: memory conf:3: expecting a separator",
  },
  {
    name: "syntax: quotes are closed on their line",
    config: `${BASE}lxc.foo = "abc\n`,
    error: "configuration file syntax error: memory conf:3: unterminated string",
  },
  {
    name: "syntax: a text of blank lines has no name",
    config: "\n",
    error: "configuration file syntax error: memory conf:2: expecting a name",
  },
  {
    name: "a CIDR address needs its prefix",
    config: `${BASE}lxc.network.type = veth\nlxc.network.ipv4 = 1.2.3.4\n`,
    error: "invalid argument: Invalid CIDR address: '1.2.3.4'",
  },
  {
    name: "an ipv4 key with an IPv6 address",
    config: `${BASE}lxc.net.0.type = veth\nlxc.net.0.ipv4.address = ::1/64\n`,
    error: "invalid argument: Invalid CIDR address: '::1/64'",
  },
  {
    name: "a gateway must be an address",
    config: `${BASE}lxc.network.type = veth\nlxc.network.ipv4.gateway = x\n`,
    error: "XML error: Domain interface: Bad gateway address 'x' in route definition",
  },
  {
    name: "an IPv6 gateway of the other family",
    config: `${BASE}lxc.net.0.type = veth\nlxc.net.0.ipv6.gateway = 1.2.3.4\n`,
    error:
      "XML error: Domain interface: ipv6 specified for non-IPv6 gateway address '1.2.3.4' in route definition",
  },
  {
    name: "an IPv4 gateway of the other family",
    config: `${BASE}lxc.net.0.type = veth\nlxc.net.0.ipv4.gateway = ::1\n`,
    error:
      "XML error: Domain interface: IPv4 family specified for non-IPv4 gateway '0.0.0.0' in route definition",
  },
  {
    name: "phys needs a link",
    config: `${BASE}lxc.network.type = phys\n`,
    error: "unsupported configuration: Missing 'link' attribute for NIC",
  },
  {
    name: "an id map needs four fields",
    config: `${BASE}lxc.idmap = u 1 2\n`,
    error: "internal error: invalid lxc.idmap: 'u 1 2'",
  },
  {
    name: "a tmpfs needs a size",
    config: `${BASE}lxc.mount.entry = tmpfs run tmpfs mode=0755 0 0\n`,
    error: "internal error: missing tmpfs size, set the size option",
  },
  {
    name: "a tmpfs size is absolute",
    config: `${BASE}lxc.mount.entry = tmpfs run tmpfs size=50% 0 0\n`,
    error: "internal error: can't convert relative size: '50%'",
  },
  {
    name: "a tmpfs size has a known unit",
    config: `${BASE}lxc.mount.entry = tmpfs run tmpfs size=8q 0 0\n`,
    error: "internal error: failed to convert size: '8q'",
  },
  {
    name: "lxc.tty is an integer",
    config: `${BASE}lxc.tty = x\n`,
    error: "internal error: failed to parse int: 'x'",
  },
  {
    name: "cpu shares: the whole value is the integer (trailing blanks are part of it)",
    config: `${BASE}lxc.cgroup.cpu.shares = 10 \n`,
    error: "internal error: failed to parse integer: '10 '",
  },
  {
    name: "a cpuset is a bitmap",
    config: `${BASE}lxc.cgroup.cpuset.cpus = x\n`,
    error: "invalid argument: Failed to parse bitmap 'x'",
  },
  {
    name: "a memory limit is a size",
    config: `${BASE}lxc.cgroup.memory.limit_in_bytes = x\n`,
    error: "internal error: failed to convert size: 'x'",
  },
  {
    name: "a blkio device key needs a device and a value",
    config: `${BASE}lxc.cgroup.blkio.device_weight = 8:0\n`,
    error: "internal error: invalid lxc.cgroup.blkio.device_weight value: '8:0'",
  },
  {
    name: "the blkio weight is an integer",
    config: `${BASE}lxc.cgroup.blkio.weight = x\n`,
    error: "internal error: failed to parse integer: 'x'",
  },
  {
    name: "lxc.mount is refused",
    config: `${BASE}lxc.mount = /etc/fstab\n`,
    error:
      "argument unsupported: lxc.mount.fstab or lxc.mount found, use lxc.mount.entry lines instead",
  },
];

for (const item of CASES) {
  Deno.test(`lxc-tools: ${item.name}`, () => {
    if (item.error !== undefined) {
      assert.equal(refusal(item.config), item.error);
      return;
    }
    const xml = convert(item.config);
    for (const fragment of item.has ?? []) assert.ok(xml.includes(fragment), `${fragment}\n${xml}`);
  });
}

/** Cases where libvirt fails without a reason ("An error occurred, but the cause is unknown"). */
const UNEXPLAINED: { name: string; config: string; where: string }[] = [
  { name: "no name", config: "lxc.rootfs = /r\n", where: "lxc.uts.name" },
  { name: "no root filesystem", config: "lxc.utsname = n\n", where: "lxc.rootfs.path" },
  {
    name: "a legacy network key before any type",
    config: `${BASE}lxc.network.link = br0\nlxc.network.type = veth\n`,
    where: "lxc.network.link",
  },
  {
    name: "a network key libvirt does not know",
    config: `${BASE}lxc.network.type = veth\nlxc.network.veth.pair = x\n`,
    where: "lxc.network.veth.pair",
  },
  {
    name: "a macvlan without a link",
    config: `${BASE}lxc.network.type = macvlan\n`,
    where: "lxc.net.1.link",
  },
  {
    name: "an id map of neither uids nor gids",
    config: `${BASE}lxc.idmap = x 1 2 3\n`,
    where: "lxc.idmap",
  },
  {
    name: "a mount entry of fewer than four fields",
    config: `${BASE}lxc.mount.entry = a b c\n`,
    where: "lxc.mount.entry (line 3)",
  },
  {
    name: "a malformed network index",
    config: `${BASE}lxc.net.x.type = veth\n`,
    where: "lxc.net.x.type",
  },
];

for (const item of UNEXPLAINED) {
  Deno.test(`lxc-tools: ${item.name} is refused with code 1 and the key`, () => {
    try {
      convert(item.config);
      assert.fail("converted");
    } catch (error) {
      assert.ok(isVirtError(error, 1), String(error));
      assert.equal(error.where, item.where);
    }
  });
}

Deno.test("lxc-tools: a negative tty count is refused (libvirtd 9.0 aborts on it)", () => {
  assert.equal(
    refusal(`${BASE}lxc.tty = 0\nlxc.tty.max = -1\n`),
    "unsupported configuration: lxc.tty.max must be between 0 and 32: '-1'",
  );
});

Deno.test("lxc-tools: the definition is plain JSON with the new UUID", () => {
  const definition = lxcToolsToDomain(BASE, { generateUuid: () => UUID });
  assert.equal(definition.uuid, UUID);
  assert.deepEqual(JSON.parse(JSON.stringify(definition)), definition);
});

testIf(
  "lxc-tools: the edge cases convert (or are refused) as libvirtd's LXC driver does",
  lxcOracleSkipReason,
  async () => {
    const temp = await Deno.makeTempDir({ prefix: "evirt-lxctools-" });
    const problems: string[] = [];
    try {
      for (const item of CASES) {
        const path = `${temp}/config`;
        await Deno.writeTextFile(path, item.config);
        const theirs = await lxcOracleVirsh(["domxml-from-native", "lxc-tools", path]);
        if (theirs.code !== 0) {
          const message = theirs.stderr.trim().replace(/^error: /, "");
          if (item.error !== message) problems.push(`${item.name}: libvirtd says ${message}`);
          continue;
        }
        const uuid = /<uuid>([^<]+)<\/uuid>/.exec(theirs.stdout)![1];
        const expected = theirs.stdout.replace(/\n\n$/, "\n").replace(
          /<emulator>[^<]*<\/emulator>/,
          "<emulator>/usr/libexec/libvirt_lxc</emulator>",
        );
        if (item.error !== undefined) problems.push(`${item.name}: libvirtd converts it`);
        else if (convert(item.config, uuid) !== expected) problems.push(`${item.name}: differs`);
      }
      for (const item of UNEXPLAINED) {
        const path = `${temp}/config`;
        await Deno.writeTextFile(path, item.config);
        const theirs = await lxcOracleVirsh(["domxml-from-native", "lxc-tools", path]);
        if (!theirs.stderr.includes("An error occurred, but the cause is unknown")) {
          problems.push(`${item.name}: libvirtd says ${theirs.stderr.trim()}`);
        }
      }
    } finally {
      await Deno.remove(temp, { recursive: true });
    }
    assert.deepEqual(problems, []);
  },
);

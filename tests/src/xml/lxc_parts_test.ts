import assert from "node:assert/strict";
import { domainFromJson } from "../../../src/model/domain_json.ts";
import { formatDomainXml, parseDomainXml } from "../../../src/xml/mod.ts";

const CONTAINER = `<domain type='lxc'>
  <name>c</name>
  <memory unit='KiB'>65536</memory>
  <blkiotune>
    <weight>500</weight>
    <device>
      <path>/dev/block/8:0</path>
      <read_bytes_sec>10</read_bytes_sec>
    </device>
  </blkiotune>
  <memtune>
    <hard_limit unit='KiB'>1048576</hard_limit>
  </memtune>
  <os>
    <type>exe</type>
    <init>/bin/sh</init>
    <initarg>-c</initarg>
    <initenv name='FOO'>bar</initenv>
    <initdir>/w</initdir>
    <inituser>u</inituser>
    <initgroup>g</initgroup>
  </os>
  <idmap>
    <uid start='0' target='1000' count='10'/>
    <gid start='0' target='1000' count='10'/>
  </idmap>
  <features>
    <privnet/>
    <capabilities policy='deny'>
      <chown state='off'/>
      <mknod state='on'/>
    </capabilities>
  </features>
  <devices>
    <filesystem type='ram' accessmode='passthrough'>
      <source usage='1024' units='KiB'/>
      <target dir='/tmp'/>
      <readonly/>
    </filesystem>
    <interface type='bridge'>
      <mac address='52:54:00:00:00:01'/>
      <source bridge='br0'/>
      <ip address='10.0.0.2' family='ipv4' prefix='24'/>
      <route family='ipv4' address='0.0.0.0' gateway='10.0.0.1'/>
      <guest dev='eth0'/>
    </interface>
    <hostdev mode='capabilities' type='net'>
      <source>
        <interface>eth1</interface>
      </source>
      <ip address='10.0.1.2' family='ipv4'/>
    </hostdev>
  </devices>
</domain>
`;

Deno.test("LXC parts are typed fields", () => {
  const def = parseDomainXml(CONTAINER);
  assert.deepEqual(def.os.initargs, ["-c"]);
  assert.deepEqual(def.os.initenvs, [{ name: "FOO", value: "bar" }]);
  assert.equal(def.os.inituser, "u");
  assert.deepEqual(def.idmap, {
    uids: [{ start: 0, target: 1000, count: 10 }],
    gids: [{ start: 0, target: 1000, count: 10 }],
  });
  assert.deepEqual(def.features?.capabilities, { policy: "deny" });
  assert.deepEqual(def.featureCapabilities, { chown: "off", mknod: "on" });
  assert.deepEqual(def.devices.filesystems, [{
    type: "ram",
    accessmode: "passthrough",
    source: { usageKiB: 1024 },
    target: { dir: "/tmp" },
    readonly: true,
  }]);
  assert.equal(def.devices.interfaces[0].guestDev, "eth0");
  assert.deepEqual(def.devices.interfaces[0].routes, [
    { family: "ipv4", address: "0.0.0.0", gateway: "10.0.0.1" },
  ]);
  assert.equal(def.devices.hostdevs[0].source?.interface, "eth1");
  assert.deepEqual(def.blkiotune, {
    weight: 500,
    devices: [{ path: "/dev/block/8:0", readBytesSec: 10 }],
  });
  assert.deepEqual(def.memtune, { hardLimitKiB: 1048576 });
  assert.equal(def.extra, undefined);
});

Deno.test("LXC parts format back as they were written", () => {
  assert.equal(formatDomainXml(parseDomainXml(CONTAINER)), CONTAINER);
});

Deno.test("LXC parts pass the JSON form's check", () => {
  const def = parseDomainXml(CONTAINER);
  assert.deepEqual(domainFromJson(JSON.parse(JSON.stringify(def))), def);
});

Deno.test("a definition without the new lists is still a valid JSON form", () => {
  const def = parseDomainXml(
    "<domain type='kvm'><name>v</name><memory>1024</memory><os><type>hvm</type></os></domain>",
  );
  assert.equal(def.devices.filesystems, undefined);
  assert.equal(def.os.initargs, undefined);
  assert.deepEqual(domainFromJson(JSON.parse(JSON.stringify(def))), def);
});

Deno.test("a RAM filesystem's size in bytes or MiB is KiB in the model", () => {
  const def = parseDomainXml(
    "<domain type='lxc'><name>c</name><memory>1</memory><os><type>exe</type></os><devices>" +
      "<filesystem type='ram'><source usage='1048576' units='bytes'/><target dir='/a'/></filesystem>" +
      "<filesystem type='ram'><source usage='3' units='MiB'/><target dir='/b'/></filesystem>" +
      "</devices></domain>",
  );
  assert.deepEqual(def.devices.filesystems?.map((fs) => fs.source?.usageKiB), [1024, 3072]);
});

Deno.test("a capability toggle with more than its state stays verbatim", () => {
  const text = "<domain type='lxc'><name>c</name><memory>1</memory><os><type>exe</type></os>" +
    "<features><capabilities policy='allow'><mknod state='on' x='1'/><kill state='off'/></capabilities></features></domain>";
  const def = parseDomainXml(text);
  assert.deepEqual(def.featureCapabilities, { kill: "off" });
  assert.ok(formatDomainXml(def).includes("<mknod state='on' x='1'/>"));
});

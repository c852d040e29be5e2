import assert from "node:assert/strict";
import { VirtError } from "../../../src/model/errors.ts";
import { formatDomainXml, parseDomainXml } from "../../../src/xml/mod.ts";

const DOMAIN = `<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>web</name>
  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  <metadata>
    <app:info xmlns:app="http://example.org/app" tier="front">web <b>one</b></app:info>
  </metadata>
  <memory unit='GiB'>2</memory>
  <currentMemory unit='MiB'>1024</currentMemory>
  <vcpu placement='static' current='1'>2</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <boot dev='hd'/>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='/var/lib/images/web.qcow2'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:aa:bb:cc' check='no'/>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-S'/>
  </qemu:commandline>
</domain>
`;

Deno.test("parseDomainXml gives the typed fields outside tools rely on", () => {
  const def = parseDomainXml(DOMAIN);
  assert.equal(def.type, "kvm");
  assert.equal(def.name, "web");
  assert.equal(def.uuid, "c7a5fdbd-edaf-9455-926a-d65c16db1809");
  assert.equal(def.memoryKiB, 2097152);
  assert.equal(def.currentMemoryKiB, 1048576);
  assert.equal(def.vcpus, 2);
  assert.deepStrictEqual(def.vcpu, { placement: "static", current: 1 });
  const disk = def.devices.disks[0];
  assert.deepStrictEqual([disk.target.dev, disk.target.bus, disk.source?.file, disk.driver?.type], [
    "vda",
    "virtio",
    "/var/lib/images/web.qcow2",
    "qcow2",
  ]);
  assert.deepStrictEqual(disk.address, { type: "pci", domain: 0, bus: 0, slot: 5, function: 0 });
  const net = def.devices.interfaces[0];
  assert.deepStrictEqual([net.type, net.mac, net.source, net.model], [
    "network",
    "52:54:00:aa:bb:cc",
    { network: "default" },
    "virtio",
  ]);
});

Deno.test("parseDomainXml converts every libvirt unit to KiB, rounding up", () => {
  const cases: [string, string, number][] = [
    ["b", "2048", 2],
    ["bytes", "1025", 2],
    ["KB", "1024", 1000],
    ["k", "3", 3],
    ["KiB", "3", 3],
    ["MB", "1", 977],
    ["M", "1", 1024],
    ["MiB", "1", 1024],
    ["GB", "1", 976563],
    ["G", "1", 1048576],
    ["GiB", "1", 1048576],
    ["TB", "1", 976562500],
    ["T", "1", 1073741824],
    ["TiB", "1", 1073741824],
    ["PiB", "1", 1099511627776],
  ];
  for (const [unit, value, kib] of cases) {
    const def = parseDomainXml(
      `<domain type='qemu'><name>u</name><memory unit='${unit}'>${value}</memory><os><type>hvm</type></os></domain>`,
    );
    assert.equal(def.memoryKiB, kib, unit);
  }
});

Deno.test("parseDomainXml keeps what the model does not type, and formatting puts it back in place", () => {
  const def = parseDomainXml(DOMAIN);
  assert.deepStrictEqual(def.extra?.attributes, {
    "xmlns:qemu": "http://libvirt.org/schemas/domain/qemu/1.0",
  });
  assert.deepStrictEqual(def.devices.interfaces[0].extra?.children?.mac, {
    attributes: { check: "no" },
  });
  const text = formatDomainXml(def);
  assert.match(text, /<mac address='52:54:00:aa:bb:cc' check='no'\/>/);
  assert.ok(
    text.endsWith(
      "  </devices>\n  <qemu:commandline>\n    <qemu:arg value='-S'/>\n  </qemu:commandline>\n</domain>\n",
    ),
  );
  assert.deepStrictEqual(parseDomainXml(text), def);
});

Deno.test("parseDomainXml keeps metadata verbatim, namespaces and mixed content included", () => {
  const def = parseDomainXml(DOMAIN);
  assert.deepStrictEqual(def.metadata, [{
    name: "app:info",
    attributes: { "xmlns:app": "http://example.org/app", tier: "front" },
    children: ["web ", { name: "b", children: ["one"] }],
  }]);
});

Deno.test("parseDomainXml applies no defaults", () => {
  const def = parseDomainXml(
    "<domain type='qemu'><name>bare</name><memory>1024</memory><os><type>hvm</type></os></domain>",
  );
  assert.equal(def.uuid, undefined);
  assert.equal(def.currentMemoryKiB, undefined);
  assert.equal(def.vcpus, 0);
  assert.deepStrictEqual(def.os.boot, []);
  assert.equal(def.clock, undefined);
});

function refusal(text: string): VirtError {
  try {
    parseDomainXml(text);
  } catch (error) {
    assert.ok(error instanceof VirtError);
    assert.equal(error.code, 27);
    return error;
  }
  assert.fail("accepted");
}

Deno.test("parseDomainXml refuses malformed XML with code 27", () => {
  assert.match(refusal("<domain type='qemu'><name>x</domain>").message, /mismatch/);
});

Deno.test("parseDomainXml refuses a root other than <domain>", () => {
  assert.equal(
    refusal("<network/>").message,
    "unexpected root element <network>, expecting <domain>",
  );
});

Deno.test("parseDomainXml refuses malformed values with the element path", () => {
  const error = refusal(
    "<domain type='qemu'><name>x</name><memory>lots</memory><os><type>hvm</type></os></domain>",
  );
  assert.equal(error.message, "invalid value 'lots' for <memory>");
  assert.equal(error.where, "/domain/memory");
  const port = refusal(
    "<domain type='qemu'><name>x</name><os><type>hvm</type></os><devices><disk type='file'><target dev='vdb'/><address type='pci' slot='zz'/></disk></devices></domain>",
  );
  assert.equal(port.where, "/domain/devices/disk/address");
  assert.equal(port.message, "invalid value 'zz' for attribute 'slot' of <address>");
});

Deno.test("parseDomainXml refuses missing required parts", () => {
  assert.match(
    refusal("<domain><name>x</name><os><type>hvm</type></os></domain>").message,
    /attribute 'type'/,
  );
  assert.match(refusal("<domain type='qemu'><name>x</name></domain>").message, /element <os>/);
  const target = refusal(
    "<domain type='qemu'><name>x</name><os><type>hvm</type></os><devices><disk type='file'/></devices></domain>",
  );
  assert.equal(target.where, "/domain/devices/disk");
  assert.match(target.message, /element <target>/);
});

Deno.test("parseDomainXml honours its size limit", () => {
  assert.throws(() => parseDomainXml(DOMAIN, { maxBytes: 100 }), /larger than 100 bytes/);
});

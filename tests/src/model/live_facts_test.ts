import assert from "node:assert/strict";
import { LIVE_FACTS_KEY, liveFactsOf, withLiveFacts } from "../../../src/model/live_facts.ts";
import { formatDomainXml, parseDomainXml } from "../../../src/xml/mod.ts";

const DEFINITION_XML = `<domain type='qemu'>
  <name>demo</name>
  <memory unit='KiB'>131072</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/i/top.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <channel type='unix'><source mode='bind'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <graphics type='vnc' port='-1' autoport='yes'/>
  </devices>
</domain>`;

const FACTS = {
  chardevs: [
    { list: "serials" as const, index: 0, path: "/dev/pts/7", pty: true },
    { list: "consoles" as const, index: 0, path: "/dev/pts/7", pty: true },
    {
      list: "channels" as const,
      index: 0,
      path: "/run/d/channel/org.qemu.guest_agent.0",
      pty: false,
    },
  ],
  graphics: [{ index: 0, port: 5901, listen: "127.0.0.1" }],
  disks: [
    {
      index: 0,
      sourceIndex: 2,
      backing: [{ type: "file" as const, path: "/i/base.raw", format: "raw", index: 3 }],
    },
    { index: 1 },
  ],
  resourcePartition: "/machine",
};

function liveXml(): string {
  return formatDomainXml(withLiveFacts(parseDomainXml(DEFINITION_XML), FACTS), { id: 4 });
}

Deno.test("withLiveFacts shows the pty as the serial's source and the console's tty", () => {
  const xml = liveXml();
  assert.match(xml, /<serial type='pty'>\n\s+<source path='\/dev\/pts\/7'\/>/);
  assert.match(xml, /<console type='pty' tty='\/dev\/pts\/7'>\n\s+<source path='\/dev\/pts\/7'\/>/);
  assert.match(
    xml,
    /<source mode='bind' path='\/run\/d\/channel\/org.qemu.guest_agent.0'\/>/,
  );
});

Deno.test("withLiveFacts shows the VNC port and the listen address the driver chose", () => {
  assert.match(
    liveXml(),
    /<graphics type='vnc' port='5901' autoport='yes' listen='127.0.0.1'>\n\s+<listen type='address' address='127.0.0.1'\/>/,
  );
});

Deno.test("withLiveFacts writes the backing chain with libvirt's indexes and closes it", () => {
  const xml = liveXml();
  assert.match(
    xml,
    /<source file='\/i\/top.qcow2' index='2'\/>\n\s+<backingStore type='file' index='3'>\n\s+<format type='raw'\/>\n\s+<source file='\/i\/base.raw'\/>\n\s+<backingStore\/>\n\s+<\/backingStore>\n\s+<target dev='vda'/,
  );
  // An empty drive gets neither an index nor a chain.
  assert.match(xml, /<disk type='file' device='cdrom'>\n\s+<target dev='sda'/);
});

Deno.test("withLiveFacts puts <resource> after <vcpu> and <seclabel> after <devices>", () => {
  const withLabel = withLiveFacts(parseDomainXml(DEFINITION_XML), {
    ...FACTS,
    seclabels: [{ type: "dynamic", model: "dac", relabel: "yes", label: "+64055:+64055" }],
  });
  const xml = formatDomainXml(withLabel, { id: 4 });
  assert.match(
    xml,
    /<vcpu[^>]*>1<\/vcpu>\n\s+<resource>\n\s+<partition>\/machine<\/partition>\n\s+<\/resource>\n\s+<os>/,
  );
  assert.match(
    xml,
    /<\/devices>\n\s+<seclabel type='dynamic' model='dac' relabel='yes'>\n\s+<label>\+64055:\+64055<\/label>\n\s+<\/seclabel>\n<\/domain>/,
  );
});

Deno.test("withLiveFacts leaves the definition it was given as it was", () => {
  const definition = parseDomainXml(DEFINITION_XML);
  const before = JSON.stringify(definition);
  withLiveFacts(definition, FACTS);
  assert.equal(JSON.stringify(definition), before);
  assert.equal(withLiveFacts(definition, undefined), definition);
});

Deno.test("liveFactsOf reads the facts of a runtime record and ignores records without", () => {
  assert.deepEqual(liveFactsOf({ driver: "qemu", [LIVE_FACTS_KEY]: FACTS }), FACTS);
  assert.equal(liveFactsOf({ driver: "test" }), undefined);
  assert.equal(liveFactsOf({ driver: "qemu", [LIVE_FACTS_KEY]: "text" }), undefined);
  assert.equal(liveFactsOf(null), undefined);
});

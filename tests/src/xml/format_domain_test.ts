import assert from "node:assert/strict";
import type { DomainDefinition } from "../../../src/model/domain.ts";
import { formatDomainXml, parseDomainXml } from "../../../src/xml/mod.ts";

const DOMAIN = `<domain type='kvm'>
  <name>db</name>
  <uuid>0d3c1c54-7b0e-4f5e-9f3a-3a6c2f0b9e11</uuid>
  <memory unit='KiB'>4194304</memory>
  <currentMemory unit='KiB'>4194304</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <boot dev='hd'/>
    <boot dev='cdrom'/>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/images/db.qcow2'/>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
    </disk>
    <disk type='file' device='cdrom'>
      <source file='/images/install.iso'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
      <alias name='ua-cdrom'/>
    </disk>
    <interface type='bridge'>
      <mac address='52:54:00:12:34:56'/>
      <source bridge='br0'/>
      <model type='virtio'/>
    </interface>
    <graphics type='vnc' port='-1' autoport='yes' passwd='s3cret'/>
    <memballoon model='virtio'/>
  </devices>
</domain>
`;

/**
 * The lines that differ between two documents: what remains of each once their common first
 * and last lines are set aside (each edit here changes one contiguous run of lines).
 */
function changedLines(before: string, after: string): { removed: string[]; added: string[] } {
  const left = before.split("\n");
  const right = after.split("\n");
  let start = 0;
  while (start < left.length && start < right.length && left[start] === right[start]) start++;
  let end = 0;
  while (
    end < left.length - start && end < right.length - start &&
    left[left.length - 1 - end] === right[right.length - 1 - end]
  ) end++;
  return {
    removed: left.slice(start, left.length - end),
    added: right.slice(start, right.length - end),
  };
}

function edit(change: (def: DomainDefinition) => void): { removed: string[]; added: string[] } {
  const def = parseDomainXml(DOMAIN);
  const before = formatDomainXml(def, { secure: true });
  change(def);
  const after = formatDomainXml(def, { secure: true });
  assert.deepStrictEqual(parseDomainXml(after), def, "the edited definition round-trips");
  return changedLines(before, after);
}

Deno.test("formatDomainXml gives back a libvirt-formatted document unchanged", () => {
  assert.equal(formatDomainXml(parseDomainXml(DOMAIN), { secure: true }), DOMAIN);
});

Deno.test("formatDomainXml shows a memory edit and nothing else", () => {
  assert.deepStrictEqual(
    edit((def) => {
      def.memoryKiB = 8388608;
      def.currentMemoryKiB = 8388608;
    }),
    {
      removed: [
        "  <memory unit='KiB'>4194304</memory>",
        "  <currentMemory unit='KiB'>4194304</currentMemory>",
      ],
      added: [
        "  <memory unit='KiB'>8388608</memory>",
        "  <currentMemory unit='KiB'>8388608</currentMemory>",
      ],
    },
  );
});

Deno.test("formatDomainXml shows a vCPU edit and nothing else", () => {
  assert.deepStrictEqual(
    edit((def) => {
      def.vcpus = 4;
    }),
    {
      removed: ["  <vcpu placement='static'>2</vcpu>"],
      added: ["  <vcpu placement='static'>4</vcpu>"],
    },
  );
});

Deno.test("formatDomainXml shows an added disk and nothing else", () => {
  const change = edit((def) => {
    def.devices.disks.push({
      type: "block",
      device: "disk",
      driver: { name: "qemu", type: "raw", cache: "none", io: "native" },
      source: { dev: "/dev/vg0/data", hosts: [] },
      target: { dev: "vdb", bus: "virtio" },
    });
  });
  assert.deepStrictEqual(change, {
    removed: [],
    added: [
      "    <disk type='block' device='disk'>",
      "      <driver name='qemu' type='raw' cache='none' io='native'/>",
      "      <source dev='/dev/vg0/data'/>",
      "      <target dev='vdb' bus='virtio'/>",
      "    </disk>",
    ],
  });
});

Deno.test("formatDomainXml shows a removed disk and nothing else", () => {
  assert.deepStrictEqual(
    edit((def) => {
      def.devices.disks.splice(1, 1);
    }),
    {
      removed: [
        "    <disk type='file' device='cdrom'>",
        "      <source file='/images/install.iso'/>",
        "      <target dev='hdc' bus='ide'/>",
        "      <readonly/>",
        "      <alias name='ua-cdrom'/>",
        "    </disk>",
      ],
      added: [],
    },
  );
});

Deno.test("formatDomainXml shows an added NIC and nothing else", () => {
  assert.deepStrictEqual(
    edit((def) => {
      def.devices.interfaces.push({
        type: "network",
        mac: "52:54:00:65:43:21",
        source: { network: "default" },
      });
    }),
    {
      removed: [],
      added: [
        "    <interface type='network'>",
        "      <mac address='52:54:00:65:43:21'/>",
        "      <source network='default'/>",
        "    </interface>",
      ],
    },
  );
});

Deno.test("formatDomainXml shows a removed NIC and nothing else", () => {
  assert.deepStrictEqual(
    edit((def) => {
      def.devices.interfaces = [];
    }),
    {
      removed: [
        "    <interface type='bridge'>",
        "      <mac address='52:54:00:12:34:56'/>",
        "      <source bridge='br0'/>",
        "      <model type='virtio'/>",
        "    </interface>",
      ],
      added: [],
    },
  );
});

Deno.test("formatDomainXml shows a boot order change and nothing else", () => {
  const def = parseDomainXml(DOMAIN);
  const before = formatDomainXml(def, { secure: true });
  def.os.boot = ["cdrom", "hd"];
  const after = formatDomainXml(def, { secure: true });
  assert.equal(
    after,
    before.replace(
      "<boot dev='hd'/>\n    <boot dev='cdrom'/>",
      "<boot dev='cdrom'/>\n    <boot dev='hd'/>",
    ),
  );
  assert.notEqual(after, before);
});

Deno.test("formatDomainXml leaves out the id and runtime aliases of inactive XML", () => {
  const text = formatDomainXml(
    parseDomainXml(DOMAIN.replace("<domain type='kvm'>", "<domain type='kvm' id='7'>")),
    {
      inactive: true,
    },
  );
  assert.match(text, /^<domain type='kvm'>/);
  assert.doesNotMatch(text, /virtio-disk0/);
  assert.match(text, /<alias name='ua-cdrom'\/>/);
});

Deno.test("formatDomainXml writes the id of a running domain in live XML", () => {
  assert.match(formatDomainXml(parseDomainXml(DOMAIN), { id: 12 }), /^<domain type='kvm' id='12'>/);
});

Deno.test("formatDomainXml writes graphics passwords only when secure", () => {
  const def = parseDomainXml(DOMAIN);
  assert.doesNotMatch(formatDomainXml(def), /passwd/);
  assert.match(formatDomainXml(def, { secure: true }), /passwd='s3cret'/);
  assert.equal(
    def.devices.graphics[0].passwd,
    "s3cret",
    "formatting does not change the definition",
  );
});

Deno.test("formatDomainXml writes an empty devices element with open and close tags, as libvirt", () => {
  const text = formatDomainXml(
    parseDomainXml(
      "<domain type='test'><name>t</name><memory>1024</memory><os><type>hvm</type></os><devices/></domain>",
    ),
  );
  assert.ok(text.endsWith("  <devices>\n  </devices>\n</domain>\n"), text);
  // Read back, it is the same definition.
  assert.deepEqual(parseDomainXml(text).devices.disks, []);
});

/** The names of the elements directly under `<devices>` in `xml`, in order. */
function deviceKinds(xml: string): string[] {
  const devices = xml.slice(xml.indexOf("<devices>"), xml.indexOf("</devices>"));
  return [...devices.matchAll(/^ {4}<([a-z-]+)/gm)].map((match) => match[1]);
}

Deno.test("formatDomainXml puts device kinds kept verbatim in libvirt's order", () => {
  const def = parseDomainXml(
    "<domain type='qemu'><name>vm</name><memory>131072</memory><os><type>hvm</type></os>" +
      "<devices><vsock model='virtio'><cid auto='yes'/></vsock><iommu model='intel'/>" +
      "<panic model='isa'/><unknown-kind/><rng model='virtio'><backend model='random'/></rng>" +
      "<redirfilter><usbdev allow='yes'/></redirfilter><lease><lockspace>a</lockspace>" +
      "<key>b</key><target path='/l'/></lease><watchdog model='i6300esb'/>" +
      "<disk type='file' device='disk'><source file='/d.img'/><target dev='vda' bus='virtio'/>" +
      "</disk><controller type='usb' index='0'/></devices></domain>",
  );
  const xml = formatDomainXml(def);
  // libvirt 9.0's order (virsh dumpxml of the same definition); an element libvirt does not
  // know stays behind the one it followed.
  assert.deepEqual(deviceKinds(xml), [
    "disk",
    "controller",
    "lease",
    "redirfilter",
    "watchdog",
    "rng",
    "panic",
    "unknown-kind",
    "iommu",
    "vsock",
  ]);
  // A second parse keeps the order.
  assert.equal(formatDomainXml(parseDomainXml(xml)), xml);
});

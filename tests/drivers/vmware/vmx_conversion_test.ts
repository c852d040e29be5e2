import assert from "node:assert/strict";
import { NATIVE_FORMATS } from "../../../actors/native_formats.ts";
import { domainToVmx, vmxToDomain } from "../../../drivers/vmware/mod.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";
import { formatDomainXml } from "../../../src/xml/format_domain.ts";
import { parseDomainXml } from "../../../src/xml/parse_domain.ts";

const HEADER = 'config.version = "8"\nvirtualHW.version = "4"\n';

function entries(vmx: string): Map<string, string> {
  return new Map(
    vmx.trim().split("\n").map((line) => {
      const [name, value] = line.split(" = ");
      return [name, JSON.parse(value)];
    }),
  );
}

function domainXml(devices: string, extra = ""): string {
  return `<domain type='vmware'><name>vm</name><uuid>564d9bef-acd9-b4e0-c8f0-aea8b9103515</uuid>` +
    `<memory>4096</memory>${extra}<os><type>hvm</type></os><devices>${devices}</devices></domain>`;
}

function refusal(run: () => unknown, code: number, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof VirtError);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("vmware-vmx is in the native formats table, both directions", () => {
  const format = NATIVE_FORMATS.get("vmware-vmx");
  assert.ok(format?.fromNative !== undefined && format.toNative !== undefined);
  const def = format.fromNative(`${HEADER}displayName = "vm"\nmemsize = "64"\n`);
  assert.equal(def.type, "vmware");
  assert.equal(entries(format.toNative(def)).get("memsize"), "64");
});

Deno.test("VNC settings become a graphics device with a listen, and back", () => {
  const def = vmxToDomain(
    `${HEADER}RemoteDisplay.vnc.enabled = "true"\nRemoteDisplay.vnc.port = "5903"\n` +
      `RemoteDisplay.vnc.keymap = "de"\nRemoteDisplay.vnc.ip = "10.0.0.1"\n`,
  );
  const graphics = def.devices.graphics[0];
  assert.deepEqual(
    [graphics.type, graphics.port, graphics.autoport, graphics.keymap, graphics.listen],
    ["vnc", 5903, "no", "de", "10.0.0.1"],
  );
  assert.deepEqual(graphics.listens, [{ type: "address", address: "10.0.0.1" }]);
  const vmx = entries(domainToVmx(def));
  assert.equal(vmx.get("RemoteDisplay.vnc.port"), "5903");
  assert.equal(vmx.get("RemoteDisplay.vnc.ip"), "10.0.0.1");
  assert.equal(vmx.get("svga.vramSize"), String(4096 * 1024));
});

Deno.test("a VNC display without a port reads as an automatic port", () => {
  const def = vmxToDomain(`${HEADER}RemoteDisplay.vnc.enabled = "true"\n`);
  assert.match(formatDomainXml(def), /<graphics type='vnc' port='-1' autoport='yes'>/);
  assert.equal(entries(domainToVmx(def)).has("RemoteDisplay.vnc.port"), false);
});

Deno.test("a disk image on a missing datastore is refused, a missing CD-ROM image empties the drive", () => {
  const none = () => false;
  refusal(
    () =>
      vmxToDomain(
        `${HEADER}scsi0.present = "true"\nscsi0:0.present = "true"\n` +
          `scsi0:0.fileName = "/vmfs/volumes/ds/vm/vm.vmdk"\n`,
        { exists: none },
      ),
    ErrorCode.INTERNAL_ERROR,
    /Referenced missing file/,
  );
  const def = vmxToDomain(
    `${HEADER}ide0:0.present = "true"\nide0:0.deviceType = "cdrom-image"\n` +
      `ide0:0.fileName = "/vmfs/volumes/ds/vm/cd.iso"\n`,
    { exists: none },
  );
  assert.deepEqual(
    [def.devices.disks[0].device, def.devices.disks[0].source, def.devices.disks[0].readonly],
    ["cdrom", undefined, true],
  );
});

Deno.test("an auto-detected raw CD-ROM is an optional LUN without a device, and back", () => {
  const def = vmxToDomain(
    `${HEADER}ide0:0.present = "true"\nide0:0.deviceType = "cdrom-raw"\n` +
      `ide0:0.fileName = "auto detect"\n`,
  );
  const disk = def.devices.disks[0];
  assert.deepEqual([disk.device, disk.type, disk.source?.startupPolicy], [
    "lun",
    "block",
    "optional",
  ]);
  const vmx = entries(domainToVmx(def));
  assert.equal(vmx.get("ide0:0.autodetect"), "true");
  assert.equal(vmx.get("ide0:0.fileName"), "auto detect");
});

Deno.test("a SCSI disk's legacy driver name sets its controller's model", () => {
  const xml = domainXml(
    "<disk type='file' device='disk'><driver name='BusLogic'/>" +
      "<source file='[ds] vm/vm.vmdk'/><target dev='sda' bus='scsi'/></disk>",
  );
  const vmx = entries(domainToVmx(parseDomainXml(xml)));
  assert.equal(vmx.get("scsi0.virtualDev"), "buslogic");
  assert.equal(vmx.get("scsi0:0.fileName"), "/vmfs/volumes/ds/vm/vm.vmdk");
});

Deno.test("a SCSI controller of model auto needs a detector", () => {
  const xml = domainXml(
    "<disk type='file' device='disk'><source file='[ds] vm/vm.vmdk'/>" +
      "<target dev='sdb' bus='scsi'/></disk><controller type='scsi' index='0' model='auto'/>",
  );
  refusal(() => domainToVmx(parseDomainXml(xml)), ErrorCode.INTERNAL_ERROR, /found 'auto'/);
  const vmx = entries(
    domainToVmx(parseDomainXml(xml), { autodetectScsiModel: () => "vmpvscsi" }),
  );
  assert.equal(vmx.get("scsi0.virtualDev"), "pvscsi");
  assert.equal(vmx.get("scsi0:1.deviceType"), "scsi-hardDisk");
});

Deno.test("a disk address that does not match its target name is refused", () => {
  const xml = domainXml(
    "<disk type='file' device='disk'><source file='[ds] vm/vm.vmdk'/>" +
      "<target dev='sda' bus='scsi'/><address type='drive' controller='1' bus='0' target='0' unit='0'/></disk>",
  );
  refusal(() => domainToVmx(parseDomainXml(xml)), ErrorCode.INTERNAL_ERROR, /doesn't match/);
});

Deno.test("interfaces VMware cannot express are refused as unsupported configuration", () => {
  const xml = domainXml("<interface type='network'><source network='default'/></interface>");
  refusal(
    () => domainToVmx(parseDomainXml(xml)),
    ErrorCode.CONFIG_UNSUPPORTED,
    /net type 'network'/,
  );
});

Deno.test("hardware before version 7 has four Ethernet cards, from 7 on ten", () => {
  const nic =
    "<interface type='bridge'><mac address='00:50:56:00:00:01'/><source bridge='VM Network'/></interface>";
  const def = parseDomainXml(domainXml(nic.repeat(5)));
  refusal(
    () => domainToVmx(def, { hardwareVersion: 4 }),
    ErrorCode.INTERNAL_ERROR,
    /out of \[0\.\.3\]/,
  );
  const vmx = entries(domainToVmx(def, { hardwareVersion: 7 }));
  assert.equal(vmx.get("ethernet4.present"), "true");
  assert.equal(vmx.get("vmci0.present"), "true");
});

Deno.test("a MAC address's range tells how VMware made it unless the XML says", () => {
  const cases: [string, string, Record<string, string>][] = [
    ["00:0c:29:01:02:03", "", { addressType: "generated", generatedAddressOffset: "0" }],
    ["00:50:56:00:00:01", "", { addressType: "static", address: "00:50:56:00:00:01" }],
    ["00:50:56:80:00:01", "", { addressType: "vpx", generatedAddress: "00:50:56:80:00:01" }],
    ["52:54:00:00:00:01", "", { addressType: "static", checkMACAddress: "false" }],
    ["52:54:00:00:00:01", " type='generated'", { addressType: "generated" }],
    ["00:0c:29:01:02:03", " type='static' check='yes'", { checkMACAddress: "true" }],
  ];
  for (const [mac, attributes, expected] of cases) {
    const xml = domainXml(
      `<interface type='user'><mac address='${mac}'${attributes}/></interface>`,
    );
    const vmx = entries(domainToVmx(parseDomainXml(xml)));
    for (const [name, value] of Object.entries(expected)) {
      assert.equal(vmx.get(`ethernet0.${name}`), value, `${mac}${attributes}: ${name}`);
    }
  }
});

Deno.test("names and descriptions are escaped for VMX and read back", () => {
  const def = parseDomainXml(
    domainXml("", "").replace(
      "<name>vm</name>",
      '<name>a/b|"c%</name><description>x|"y</description>',
    ),
  );
  const vmx = domainToVmx(def);
  const values = entries(vmx);
  assert.equal(values.get("displayName"), "a%2fb|7c|22c%25");
  assert.equal(values.get("annotation"), "x|7c|22y");
  const back = vmxToDomain(vmx);
  assert.equal(back.name, 'a/b|"c%');
  assert.equal(back.description, 'x|"y');
});

Deno.test("CPU affinity, shares, topology and memory limits go both ways", () => {
  const def = parseDomainXml(
    "<domain type='vmware'><name>vm</name><uuid>564d9bef-acd9-b4e0-c8f0-aea8b9103515</uuid>" +
      "<memory>4194304</memory><currentMemory>2097152</currentMemory>" +
      "<memtune><min_guarantee unit='MiB'>512</min_guarantee></memtune>" +
      "<vcpu cpuset='0-3'>4</vcpu><cputune><shares>8000</shares></cputune>" +
      "<os><type arch='x86_64'>hvm</type></os>" +
      "<cpu><topology sockets='2' cores='2' threads='1'/></cpu><devices/></domain>",
  );
  const vmx = domainToVmx(def);
  const values = entries(vmx);
  assert.deepEqual(
    [
      "memsize",
      "sched.mem.max",
      "sched.mem.minsize",
      "numvcpus",
      "cpuid.coresPerSocket",
      "sched.cpu.affinity",
      "sched.cpu.shares",
      "guestOS",
    ]
      .map((name) => values.get(name)),
    ["4096", "2048", "512", "4", "2", "0,1,2,3", "high", "other-64"],
  );
  const back = vmxToDomain(vmx);
  assert.deepEqual(
    [back.memoryKiB, back.currentMemoryKiB, back.vcpus, back.vcpu?.cpuset, back.cputune?.shares],
    [4194304, 2097152, 4, "0-3", 8000],
  );
  assert.deepEqual(back.cpu?.topology, { sockets: 2, dies: 1, cores: 2, threads: 1 });
  assert.match(
    formatDomainXml(back),
    /<memtune>\s*<min_guarantee unit='KiB'>524288<\/min_guarantee>/,
  );
});

Deno.test("a definition for another hypervisor is refused", () => {
  const xml = domainXml("").replace("type='vmware'", "type='kvm'");
  refusal(() => domainToVmx(parseDomainXml(xml)), ErrorCode.INTERNAL_ERROR, /virt type/);
});

Deno.test("a .vmx of another configuration version is refused, naming the entry", () => {
  assert.throws(
    () => vmxToDomain('config.version = "7"\nvirtualHW.version = "4"\n'),
    (error: unknown) => {
      assert.ok(error instanceof VirtError);
      assert.equal(error.where, "config.version");
      return true;
    },
  );
});

Deno.test("the datacenter path and managed object reference are vmware: namespace elements", () => {
  const def = vmxToDomain(HEADER, { datacenterPath: "dc1/folder", moref: "vm-42" });
  const xml = formatDomainXml(def);
  assert.match(
    xml,
    /<domain type='vmware' xmlns:vmware='http:\/\/libvirt.org\/schemas\/domain\/vmware\/1.0'>/,
  );
  assert.match(
    xml,
    /<\/devices>\s*<vmware:datacenterpath>dc1\/folder<\/vmware:datacenterpath>\s*<vmware:moref>vm-42<\/vmware:moref>/,
  );
});

Deno.test("shared folders become mount filesystems and back", () => {
  const def = vmxToDomain(
    `${HEADER}isolation.tools.hgfs.disable = "false"\nsharedFolder.maxNum = "1"\n` +
      `sharedFolder0.present = "true"\nsharedFolder0.enabled = "true"\n` +
      `sharedFolder0.hostPath = "/srv/share"\nsharedFolder0.guestName = "share"\n`,
  );
  assert.match(
    formatDomainXml(def),
    /<filesystem type='mount' accessmode='passthrough'>\s*<source dir='\/srv\/share'\/>\s*<target dir='share'\/>\s*<readonly\/>/,
  );
  const vmx = entries(domainToVmx(def));
  assert.equal(vmx.get("sharedFolder0.writeAccess"), "false");
  assert.equal(vmx.get("sharedFolder0.hostPath"), "/srv/share");
});

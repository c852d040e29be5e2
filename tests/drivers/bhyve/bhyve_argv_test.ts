import assert from "node:assert/strict";
import { NATIVE_FORMATS } from "../../../actors/native_formats.ts";
import {
  bhyveCommands,
  bhyveDefaults,
  commandText,
  FULL_BHYVE_CAPABILITIES,
} from "../../../drivers/bhyve/mod.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";
import { parseDomainXml } from "../../../src/xml/parse_domain.ts";

const OPTIONS = {
  capabilities: FULL_BHYVE_CAPABILITIES,
  bhyve: "bhyve",
  bhyveload: "bhyveload",
  tapName: "tap0",
  deviceMapFile: "/tmp/device.map",
  autoPort: 0,
};

function domain(devices: string, extra = ""): string {
  return `<domain type='bhyve'><name>vm</name><uuid>df3be7e7-a104-11e3-aeb0-50e5492bd3dc</uuid>` +
    `<memory>219136</memory><vcpu>2</vcpu>${extra}<os><type>hvm</type></os>` +
    `<devices>${devices}</devices></domain>`;
}

const SATA_DISK =
  "<disk type='file'><source file='/vm/disk.img'/><target dev='hda' bus='sata'/></disk>";
const NIC = "<interface type='bridge'><mac address='52:54:00:00:00:01'/><model type='virtio'/>" +
  "<source bridge='br0'/></interface>";

function commands(xml: string, options = OPTIONS) {
  return bhyveCommands(bhyveDefaults(parseDomainXml(xml), options), options);
}

Deno.test("slot 1 is kept for the LPC bridge and devices take the next free slots", () => {
  const { bhyve, load } = commands(domain(SATA_DISK + NIC));
  assert.deepEqual(bhyve, [
    "bhyve",
    "-c",
    "2",
    "-m",
    "214",
    "-u",
    "-H",
    "-P",
    "-s",
    "0:0,hostbridge",
    "-s",
    "2:0,ahci,hd:/vm/disk.img",
    "-s",
    "3:0,virtio-net,tap0,mac=52:54:00:00:00:01",
    "vm",
  ]);
  assert.deepEqual(load, ["bhyveload", "-m", "214", "-d", "/vm/disk.img", "vm"]);
});

Deno.test("a serial port brings the LPC bridge onto slot 1 and its nmdm ends are derived from the UUID", () => {
  const { bhyve } = commands(domain(`${SATA_DISK}<serial type='nmdm'/>`));
  assert.deepEqual(bhyve.slice(10, 12), ["-s", "1:0,lpc"]);
  assert.ok(bhyve.includes("com1,/dev/nmdmdf3be7e7-a104-11e3-aeb0-50e5492bd3dcA"));
});

Deno.test("without 32-disk AHCI each SATA disk has a controller and a slot of its own", () => {
  const capabilities = { ...FULL_BHYVE_CAPABILITIES, ahci32Slot: false };
  const second = SATA_DISK.replace("hda", "hdb").replace("disk.img", "two.img");
  const { bhyve } = commands(domain(SATA_DISK + second), { ...OPTIONS, capabilities });
  assert.ok(bhyve.includes("2:0,ahci-hd,/vm/disk.img"));
  assert.ok(bhyve.includes("3:0,ahci-hd,/vm/two.img"));
});

Deno.test("grub-bhyve boots the disk with the lowest boot order and maps only it", () => {
  const disks = SATA_DISK +
    "<disk type='file' device='cdrom'><source file='/vm/cd.iso'/><target dev='hdc' bus='sata'/><boot order='1'/></disk>";
  const result = commands(domain(disks, "<bootloader>/usr/local/sbin/grub-bhyve</bootloader>"));
  assert.deepEqual(result.load, [
    "/usr/local/sbin/grub-bhyve",
    "--root",
    "cd",
    "--device-map",
    "/tmp/device.map",
    "--memory",
    "214",
    "vm",
  ]);
  assert.equal(result.deviceMap, "(cd) /vm/cd.iso\n");
});

Deno.test("what bhyve cannot do is refused as unsupported configuration", () => {
  const cases: [string, RegExp][] = [
    [domain(NIC.replace("virtio", "rtl8139")), /NIC model is not supported/],
    [
      domain(SATA_DISK, "<cpu><topology sockets='1' cores='1' threads='1'/></cpu>"),
      /Invalid CPU topology/,
    ],
    [domain(`${SATA_DISK}<serial type='pty'/>`), /only nmdm/],
    [domain(""), /at least one disk/],
  ];
  for (const [xml, message] of cases) {
    assert.throws(() => commands(xml), (error: unknown) => {
      assert.ok(error instanceof VirtError);
      assert.equal(error.code, ErrorCode.CONFIG_UNSUPPORTED);
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("command text quotes shell metacharacters and breaks before options and trailing arguments", () => {
  assert.equal(
    commandText(["/usr/sbin/grub-bhyve", "--device-map", "<device.map>", "it's"], {
      linebreaks: true,
      stripProgramPath: true,
    }),
    "grub-bhyve \\\n--device-map '<device.map>' \\\n'it'\\''s'",
  );
});

Deno.test("bhyve-argv to native gives the loader line, then the bhyve line", () => {
  const format = NATIVE_FORMATS.get("bhyve-argv");
  const text = format!.toNative!(parseDomainXml(domain(SATA_DISK)));
  assert.deepEqual(text.split("\n"), [
    "/usr/sbin/bhyveload -m 214 -d /vm/disk.img vm",
    "/usr/sbin/bhyve -c 2 -m 214 -u -H -P -s 0:0,hostbridge -s 2:0,ahci,hd:/vm/disk.img vm",
  ]);
});

Deno.test("bhyve-argv from native reads what the to-native lines say", () => {
  const format = NATIVE_FORMATS.get("bhyve-argv")!;
  const text = format.toNative!(parseDomainXml(domain(SATA_DISK + NIC)));
  const def = format.fromNative!(text.replaceAll("-s 2:0,ahci,hd:", "-s 2:0,ahci-hd,"));
  assert.deepEqual(
    [def.name, def.vcpus, def.memoryKiB, def.clock?.offset],
    ["vm", 2, 219136, "utc"],
  );
  assert.deepEqual(def.devices.disks[0].source?.file, "/vm/disk.img");
  assert.deepEqual(
    [def.devices.interfaces[0].mac, def.devices.interfaces[0].target?.dev],
    ["52:54:00:00:00:01", "tap0"],
  );
});

Deno.test("bhyve-argv from native refuses a loader that names another VM", () => {
  assert.throws(
    () =>
      NATIVE_FORMATS.get("bhyve-argv")!.fromNative!(
        "/usr/sbin/bhyveload -m 214 -d /vm.img other\n/usr/sbin/bhyve -c 1 -m 214 -H -P vm",
      ),
    (error: unknown) => error instanceof VirtError && error.code === ErrorCode.OPERATION_FAILED,
  );
});

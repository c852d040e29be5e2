import assert from "node:assert/strict";
import { createDecipheriv } from "node:crypto";
import { Buffer } from "node:buffer";
import { encryptForQemu, newMasterKey } from "../../../drivers/qemu/disk_encryption.ts";
import { plugDisk } from "../../../drivers/qemu/device_hotplug.ts";
import type { QmpCommands } from "../../../drivers/qemu/qmp_commands.ts";
import type { Disk } from "../../../src/model/domain.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import type { XmlElement } from "../../../src/model/xml_extra.ts";
import { assertRefused, build, valuesOf, withDevices } from "./_qemu_definitions.ts";

const UUID = "e78d4b51-a2af-485f-b0f5-afca709a80f4";

function encryption(
  attributes: Record<string, string> = { format: "luks" },
  secret: Record<string, string> = { type: "passphrase", uuid: UUID },
): XmlElement {
  return { name: "encryption", attributes, children: [{ name: "secret", attributes: secret }] };
}

function luksDisk(dev: string, format: string, element = encryption()): Disk {
  return {
    type: "file",
    driver: { name: "qemu", type: format },
    source: { file: `/images/${dev}.img`, hosts: [] },
    target: { dev, bus: "virtio" },
    extra: { elements: [{ element }] },
  };
}

Deno.test("a raw LUKS disk is a luks format node with its key secret, after the master key", () => {
  const definition = withDevices((devices) => devices.disks.push(luksDisk("vda", "raw")));
  const line = build(definition, {
    diskSecrets: () => ({ data: "DATA", iv: "IV" }),
  });
  assert.deepEqual(valuesOf(line.args, "-object"), [
    "secret,id=masterKey0,format=raw,file=/run/evirt/qemu/domain-1-vm/master-key.aes",
    "secret,id=drive0-format-encryption-secret0,data=DATA,keyid=masterKey0,iv=IV,format=base64",
  ]);
  const format = JSON.parse(valuesOf(line.args, "-blockdev")[1]);
  assert.equal(format.driver, "luks");
  assert.equal(format["key-secret"], "drive0-format-encryption-secret0");
});

Deno.test("an encrypted qcow2 disk is a qcow2 node with encrypt.format=luks", () => {
  const definition = withDevices((devices) => {
    devices.disks.push(luksDisk("vda", "qcow2"));
    devices.disks.push(luksDisk("vdb", "qcow2"));
  });
  const line = build(definition);
  // One master key for the domain, one secret object per disk.
  assert.equal(
    valuesOf(line.args, "-object").filter((o) => o.startsWith("secret,id=masterKey0,")).length,
    1,
  );
  const formats = valuesOf(line.args, "-blockdev").map((text) => JSON.parse(text))
    .filter((node) => node.driver === "qcow2");
  assert.deepEqual(formats.map((node) => node.encrypt), [
    { format: "luks", "key-secret": "drive0-format-encryption-secret0" },
    { format: "luks", "key-secret": "drive1-format-encryption-secret0" },
  ]);
});

Deno.test("the cipher is handed the secret by uuid or usage, with the element's path", () => {
  const seen: unknown[] = [];
  const definition = withDevices((devices) => {
    devices.disks.push(luksDisk("vda", "raw"));
    devices.disks.push(
      luksDisk("vdb", "raw", encryption(undefined, { type: "passphrase", usage: "/images/b" })),
    );
  });
  build(definition, {
    diskSecrets: (reference, where) => {
      seen.push([reference, where]);
      return { data: "D", iv: "I" };
    },
  });
  assert.deepEqual(seen, [
    [{ uuid: UUID }, "/domain/devices/disk[1]/encryption/secret"],
    [{ usage: "/images/b" }, "/domain/devices/disk[2]/encryption/secret"],
  ]);
});

Deno.test("encryption other than one LUKS passphrase through QEMU is refused by element", () => {
  const refusedWith = (element: XmlElement, format: string, where: string) =>
    assertRefused(
      withDevices((devices) => devices.disks.push(luksDisk("vda", format, element))),
      where,
    );
  refusedWith(encryption({ format: "qcow" }), "raw", "/domain/devices/disk[1]/encryption/@format");
  refusedWith(
    encryption({ format: "luks", engine: "librbd" }),
    "raw",
    "/domain/devices/disk[1]/encryption/@engine",
  );
  refusedWith(
    encryption(undefined, { type: "ceph", uuid: UUID }),
    "raw",
    "/domain/devices/disk[1]/encryption/secret/@type",
  );
  refusedWith(encryption(), "vmdk", "/domain/devices/disk[1]/encryption");
});

Deno.test("encryptForQemu is AES-256-CBC under the master key with a fresh IV", () => {
  const key = newMasterKey();
  const value = new TextEncoder().encode("a passphrase");
  const first = encryptForQemu(key, value);
  const second = encryptForQemu(key, value);
  assert.notEqual(first.iv, second.iv);
  const decipher = createDecipheriv("aes-256-cbc", key, Buffer.from(first.iv, "base64"));
  const clear = Buffer.concat([
    decipher.update(Buffer.from(first.data, "base64")),
    decipher.final(),
  ]);
  assert.equal(clear.toString(), "a passphrase");
});

Deno.test("a LUKS disk is not hotplugged: QEMU would lack its secret object", async () => {
  const definition = withDevices((devices) =>
    devices.disks.push({ ...luksDisk("vda", "raw"), alias: "virtio-disk0" })
  );
  // Refused before any monitor command: the monitor is never reached.
  const qmp = {} as QmpCommands;
  await assert.rejects(
    plugDisk(qmp, definition, 0, [], { timeoutMs: 1_000 }),
    (error) =>
      isVirtError(error, ErrorCode.CONFIG_UNSUPPORTED) && error.where === "/disk/encryption",
  );
});

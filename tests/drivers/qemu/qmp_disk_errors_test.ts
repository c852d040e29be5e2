import assert from "node:assert/strict";
import { diskErrorsOf } from "../../../drivers/qemu/qmp_disk_errors.ts";
import type { QmpBlockInfo } from "../../../drivers/qemu/qmp_commands.ts";

function block(fields: Partial<QmpBlockInfo>): QmpBlockInfo {
  return { device: "", removable: false, locked: false, ...fields };
}

Deno.test("disk errors: QEMU's io-status by device id, node name or legacy drive name", () => {
  const blocks = [
    block({ qdev: "/machine/peripheral/virtio-disk0/virtio-backend", "io-status": "nospace" }),
    block({ qdev: "/machine/peripheral/virtio-disk1/virtio-backend", "io-status": "ok" }),
    block({
      qdev: "/machine/peripheral/scsi0-0-0-0",
      inserted: { "node-name": "libvirt-3-format" } as QmpBlockInfo["inserted"],
      "io-status": "failed",
    }),
    block({ device: "drive-ide0-0-0", "io-status": "failed" }),
  ];
  const errors = diskErrorsOf(blocks, [
    { target: "vda", qdevId: "virtio-disk0" },
    { target: "vdb", qdevId: "virtio-disk1" },
    { target: "sda", nodeName: "libvirt-3-format", qdevId: "other" },
    { target: "hda", qdevId: "drive-ide0-0-0" },
  ]);
  assert.deepEqual(errors, [
    { target: "vda", error: "no-space" },
    { target: "sda", error: "unspecified" },
    { target: "hda", error: "unspecified" },
  ]);
});

Deno.test("disk errors: a disk QEMU does not list, or lists without an io-status, has none", () => {
  const blocks = [block({ qdev: "/machine/peripheral/virtio-disk0/virtio-backend" })];
  assert.deepEqual(
    diskErrorsOf(blocks, [{ target: "vda", qdevId: "virtio-disk0" }, { target: "vdb" }]),
    [],
  );
  // A device id that only prefixes another's is not a match.
  const other = [block({ qdev: "/machine/peripheral/virtio-disk10", "io-status": "nospace" })];
  assert.deepEqual(diskErrorsOf(other, [{ target: "vda", qdevId: "virtio-disk1" }]), []);
});

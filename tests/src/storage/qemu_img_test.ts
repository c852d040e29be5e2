import assert from "node:assert/strict";
import {
  progressPercents,
  qemuImgConvertArgs,
  qemuImgCreateArgs,
  qemuImgResizeArgs,
} from "../../../src/storage/qemu_img.ts";
import { corpusDir, missing, testIf } from "../../support/environment.ts";

const ARGV_DIR = `${corpusDir}/storagevolxml2argvdata`;

/** libvirt's expected command line, without the program name. */
function expectedArgs(name: string): string[] {
  const text = Deno.readTextFileSync(`${ARGV_DIR}/${name}.argv`);
  return text.replace(/\\\n/g, " ").trim().split(/\s+/).slice(1);
}

const CASES: Record<string, Parameters<typeof qemuImgCreateArgs>[0]> = {
  // vol-qcow2-zerocapacity.xml: qcow2, capacity 0, no compat given.
  "qcow2-zerocapacity": {
    path: "/var/lib/libvirt/images/OtherDemo.img",
    format: "qcow2",
    capacityBytes: 0,
  },
  // vol-qcow2-nocapacity.xml: a backing file, no capacity.
  "qcow2-nocapacity": {
    path: "/var/lib/libvirt/images/OtherDemo.img",
    format: "qcow2",
    backing: { path: "/dev/null", format: "raw" },
  },
  // vol-qcow2-clusterSize.xml: 5 GiB, compat 1.1, 128 KiB clusters, extended_l2.
  "qcow2-clusterSize": {
    path: "/var/lib/libvirt/images/OtherDemo.img",
    format: "qcow2",
    capacityBytes: 5 * 1024 ** 3,
    compat: "1.1",
    clusterSizeBytes: 131072,
    features: ["extended_l2"],
  },
  // A raw file made by qemu-img (libvirt does so when converting): the size in KiB.
  "iso": { path: "/var/lib/libvirt/images/test.iso", format: "raw", capacityBytes: 1024 * 1024 },
};

for (const [name, plan] of Object.entries(CASES)) {
  testIf(`qemuImgCreateArgs builds libvirt's command for ${name}`, missing(ARGV_DIR), () => {
    assert.deepEqual(qemuImgCreateArgs(plan), expectedArgs(name));
  });
}

testIf(
  "qemuImgConvertArgs builds libvirt's command for a qcow2 clone of a raw file",
  missing(ARGV_DIR),
  () => {
    // vol-qcow2-nobacking.xml created from vol-file.xml with preallocated metadata.
    const args = qemuImgConvertArgs("/var/lib/libvirt/images/sparse.img", "raw", {
      path: "/var/lib/libvirt/images/OtherDemo.img",
      format: "qcow2",
      preallocateMetadata: true,
    });
    assert.deepEqual(args, expectedArgs("qcow2-nobacking-convert-prealloc-compat"));
  },
);

testIf(
  "qemuImgConvertArgs builds libvirt's command for a raw copy of a qcow2 image",
  missing(ARGV_DIR),
  () => {
    const args = qemuImgConvertArgs("/var/lib/libvirt/images/OtherDemo.img", "qcow2", {
      path: "/dev/HostVG/Swap",
      format: "raw",
    });
    assert.deepEqual(args, expectedArgs("logical-from-qcow2"));
  },
);

Deno.test("qemuImgCreateArgs rounds the size up to whole KiB", () => {
  assert.equal(qemuImgCreateArgs({ path: "/a", format: "raw", capacityBytes: 1025 }).at(-1), "2K");
});

Deno.test("qemuImgResizeArgs adds --shrink only when asked", () => {
  assert.deepEqual(qemuImgResizeArgs("/a", 10, false), ["resize", "/a", "10"]);
  assert.deepEqual(qemuImgResizeArgs("/a", 10, true), ["resize", "--shrink", "/a", "10"]);
});

Deno.test("progressPercents reads qemu-img -p figures and ignores anything else", () => {
  assert.deepEqual(progressPercents("    (0.00/100%)\r    (1.01/100%)\r    (100.00/100%)\r"), [
    0,
    1.01,
    100,
  ]);
  assert.deepEqual(progressPercents("(250.00/100%) (abc/100%) 12%"), []);
});

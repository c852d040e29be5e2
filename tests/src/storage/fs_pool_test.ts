import assert from "node:assert/strict";
import {
  FS_MOUNT_DEFAULT_OPTIONS,
  fsMountArgv,
  fsSourceDevice,
  fsUnmountArgv,
  mkfsArgv,
} from "../../../src/storage/fs_pool.ts";
import { parsePoolXml } from "../../../src/xml/parse_storage_pool.ts";
import { corpusDir, missing, testIf } from "../../support/environment.ts";

const POOL_ARGV_DIR = `${corpusDir}/storagepoolxml2argvdata`;

function expectedArgv(name: string): string[] {
  const text = Deno.readTextFileSync(`${POOL_ARGV_DIR}/${name}.argv`);
  return text.replace(/\\\n/g, " ").trim().split(/\s+/);
}

// libvirt's pool-fs.xml (its input is not in the corpus; its content is: ext3 on /dev/sda6,
// target /mnt). The corpus holds the FreeBSD command line only, whose default options are
// "nosuid,noexec"; Linux adds "nodev" first and is otherwise the same argv.
const POOL_FS = parsePoolXml(
  `<pool type='fs'><name>fs1</name><source><device path='/dev/sda6'/><format type='ext3'/>` +
    `</source><target><path>/mnt</path></target></pool>`,
);

testIf(
  "the mount command of an fs pool is libvirt's (pool-fs), with Linux's default options",
  missing(`${POOL_ARGV_DIR}/pool-fs-freebsd.argv`),
  () => {
    const freebsd = expectedArgv("pool-fs-freebsd");
    assert.equal(freebsd[2], "nosuid,noexec");
    assert.deepEqual(
      fsMountArgv(POOL_FS),
      freebsd.map((arg, index) => index === 2 ? FS_MOUNT_DEFAULT_OPTIONS : arg),
    );
  },
);

Deno.test("fs:mount_opts are added after the default mount options", () => {
  const pool = parsePoolXml(
    `<pool type='fs' xmlns:fs='http://libvirt.org/schemas/storagepool/fs/1.0'><name>f</name>` +
      `<source><device path='/dev/loop3'/><format type='ext4'/></source>` +
      `<target><path>/srv/f</path></target>` +
      `<fs:mount_opts><fs:option name='sync'/><fs:option name='lazytime'/></fs:mount_opts></pool>`,
  );
  assert.deepEqual(fsMountArgv(pool), [
    "mount",
    "-o",
    "nodev,nosuid,noexec,sync,lazytime",
    "-t",
    "ext4",
    "/dev/loop3",
    "/srv/f",
  ]);
  assert.deepEqual(fsUnmountArgv(pool), ["umount", "/srv/f"]);
});

Deno.test("mkfs is forced the way each file system asks for it", () => {
  assert.deepEqual(mkfsArgv("/dev/loop0", "ext4"), ["mkfs", "-t", "ext4", "-F", "/dev/loop0"]);
  assert.deepEqual(mkfsArgv("/dev/loop0", "ext2"), ["mkfs", "-t", "ext2", "-F", "/dev/loop0"]);
  assert.deepEqual(mkfsArgv("/dev/loop0", "xfs"), ["mkfs", "-t", "xfs", "-f", "/dev/loop0"]);
  assert.deepEqual(mkfsArgv("/dev/loop0", "vfat"), ["mkfs", "-t", "vfat", "-I", "/dev/loop0"]);
  assert.deepEqual(mkfsArgv("/dev/loop0", "udf"), ["mkfs", "-t", "udf", "/dev/loop0"]);
});

Deno.test("an fs pool has exactly one source device", () => {
  assert.equal(fsSourceDevice(POOL_FS), "/dev/sda6");
  assert.throws(
    () => fsSourceDevice({ ...POOL_FS, source: { ...POOL_FS.source, devices: [] } }),
    { code: 1, message: "missing source device" },
  );
  assert.throws(
    () =>
      fsSourceDevice({
        ...POOL_FS,
        source: { ...POOL_FS.source, devices: [{ path: "/a" }, { path: "/b" }] },
      }),
    { code: 67 },
  );
});

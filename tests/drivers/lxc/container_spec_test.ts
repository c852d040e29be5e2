import assert from "node:assert/strict";
import { containerPath, containerSpec } from "../../../drivers/lxc/container_spec.ts";
import { isVirtError } from "../../../src/model/errors.ts";
import { containerDefinition, filesystemElement } from "../../integration/_lxc_rig.ts";

Deno.test("containerSpec reads init, initarg, initenv, the root and the mounts", () => {
  const spec = containerSpec(
    containerDefinition("spec", {
      rootDir: "/srv/root",
      init: "/bin/sh",
      initArgs: ["-c", "echo hi"],
      initEnv: { A: "1" },
      memoryKiB: 2048,
      filesystems: [
        filesystemElement("mount", "/data", { dir: "/srv/data" }, true),
        filesystemElement("ram", "/run", { usageKiB: 4096 }),
      ],
    }),
  );
  assert.deepEqual(spec, {
    rootDir: "/srv/root",
    rootReadonly: false,
    mounts: [
      { kind: "bind", source: "/srv/data", target: "/data", readonly: true },
      { kind: "ram", target: "/run", sizeKiB: 4096 },
    ],
    init: "/bin/sh",
    initArgs: ["-c", "echo hi"],
    initEnv: [["A", "1"]],
    initDir: "/",
    hostname: "spec",
    memoryLimitKiB: 2048,
    tuning: { blkioDevices: [] },
    console: true,
    capabilities: {
      clearAll: false,
      keep: [],
      drop: ["audit_control", "mac_admin", "mknod", "sys_module", "sys_time"],
    },
  });
});

Deno.test("containerSpec reads memtune, cputune and blkiotune; the hard limit is the memory limit", () => {
  const definition = containerDefinition("tuned", { memoryKiB: 65536 });
  definition.memtune = { hardLimitKiB: 4096, softLimitKiB: 2048, swapHardLimitKiB: 8192 };
  definition.cputune = {
    shares: 512,
    period: 100000,
    quota: -1,
    vcpupins: [],
    iothreadpins: [],
    vcpuscheds: [],
    iothreadscheds: [],
    cachetunes: [],
    memorytunes: [],
  };
  definition.blkiotune = {
    weight: 300,
    devices: [{ path: "/dev/loop0", readBytesSec: 1024, writeIopsSec: 5 }],
  };
  const spec = containerSpec(definition);
  assert.equal(spec.memoryLimitKiB, 4096);
  assert.deepEqual(spec.tuning, {
    softLimitKiB: 2048,
    swapHardLimitKiB: 8192,
    cpuShares: 512,
    cpuPeriodUs: 100000,
    cpuQuotaUs: -1,
    blkioWeight: 300,
    blkioDevices: [{ path: "/dev/loop0", readBytesSec: 1024, writeIopsSec: 5 }],
  });
});

Deno.test("containerSpec refuses a definition without <init>, in libvirt's words", () => {
  const definition = containerDefinition("no-init");
  delete definition.os.init;
  assert.throws(
    () => containerSpec(definition),
    (error) => isVirtError(error, 27) && error.message === "init binary must be specified",
  );
});

Deno.test("a filesystem target that climbs out of the root is refused with code 67 and its place", () => {
  assert.throws(
    () =>
      containerSpec(containerDefinition("escape", {
        filesystems: [filesystemElement("mount", "/a/../../etc", { dir: "/srv" })],
      })),
    (error) =>
      isVirtError(error, 67) && error.where === "/domain/devices/filesystem[2]/target/@dir",
  );
});

Deno.test("a relative filesystem target is refused", () => {
  assert.throws(() => containerPath("etc", "/x"), (error) => isVirtError(error, 67));
});

Deno.test("a definition without a root filesystem is refused", () => {
  const definition = containerDefinition("rootless");
  definition.devices.filesystems = [];
  assert.throws(() => containerSpec(definition), /needs a root filesystem/);
});

Deno.test("os type other than exe is refused at /domain/os/type", () => {
  const definition = containerDefinition("hvm");
  definition.os.type = "hvm";
  assert.throws(
    () => containerSpec(definition),
    (error) => isVirtError(error, 67) && error.where === "/domain/os/type",
  );
});

Deno.test("interfaces of types the driver makes no veth pair for are refused at the interface", () => {
  const definition = containerDefinition("net");
  definition.devices.interfaces.push({ type: "ethernet" }, { type: "user" });
  assert.throws(
    () => containerSpec(definition),
    (error) =>
      isVirtError(error, 67) && error.where === "/domain/devices/interface[2]/@type" &&
      /interface type 'user' is not supported/.test(error.message),
  );
});

Deno.test("containerSpec reads idmap, inituser and initgroup; a range the kernel cannot take is refused", () => {
  const definition = containerDefinition("mapped");
  definition.os = { ...definition.os, inituser: "alice", initgroup: "10" };
  definition.idmap = {
    uids: [{ start: 0, target: 100000, count: 65536 }],
    gids: [{ start: 0, target: 100000, count: 65536 }],
  };
  const spec = containerSpec(definition);
  assert.equal(spec.initUser, "alice");
  assert.equal(spec.initGroup, "10");
  assert.deepEqual(spec.idmap, definition.idmap);
  definition.idmap.gids[0].count = 0;
  assert.throws(
    () => containerSpec(definition),
    (error: unknown) => isVirtError(error, 67) && error.where === "/domain/idmap/gid[1]",
  );
});

import assert from "node:assert/strict";
import {
  capabilityArgs,
  capabilityCut,
  identityArgs,
  initIdentity,
  initPrivileges,
} from "../../../drivers/lxc/container_privileges.ts";
import { containerSpec } from "../../../drivers/lxc/container_spec.ts";
import { isVirtError } from "../../../src/model/errors.ts";
import { containerDefinition, filesystemElement } from "../../integration/_lxc_rig.ts";

const PASSWD = "root:x:0:0:root:/root:/bin/sh\n" +
  "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n" +
  "broken line\n" +
  "42:x:4242:4242::/:/bin/sh\n";
const GROUP = "root:x:0:\nalice:x:1000:\nstaff:x:50:alice,bob\nwheel:x:10:alice\nusers:x:100:\n";

Deno.test("the default policy drops libvirt's five and whatever is off; sys_boot stays", () => {
  assert.deepEqual(capabilityCut(undefined, undefined), {
    clearAll: false,
    keep: [],
    drop: ["audit_control", "mac_admin", "mknod", "sys_module", "sys_time"],
  });
  assert.deepEqual(
    capabilityCut("default", { mknod: "on", net_raw: "off", sys_boot: "off", chown: "on" }).drop,
    ["audit_control", "mac_admin", "net_raw", "sys_module", "sys_time"],
  );
});

Deno.test("allow drops only what is off; deny keeps only what is on", () => {
  assert.deepEqual(capabilityCut("allow", { net_raw: "off", mknod: "on" }), {
    clearAll: false,
    keep: [],
    drop: ["net_raw"],
  });
  assert.deepEqual(capabilityCut("deny", { kill: "on", chown: "on", mknod: "off" }), {
    clearAll: true,
    keep: ["chown", "kill"],
    drop: [],
  });
});

Deno.test("capabilityArgs are setpriv's", () => {
  assert.deepEqual(capabilityArgs(capabilityCut("allow", {})), []);
  assert.deepEqual(capabilityArgs(capabilityCut("allow", { mknod: "off" })), [
    "--bounding-set=-mknod",
  ]);
  assert.deepEqual(capabilityArgs(capabilityCut("deny", { kill: "on" })), [
    "--bounding-set=-all,+kill",
    "--inh-caps=-all,+kill",
  ]);
});

Deno.test("initIdentity: names first, then numbers; the user's groups as getgrouplist", () => {
  assert.deepEqual(initIdentity(undefined, undefined, PASSWD, GROUP), {});
  assert.deepEqual(initIdentity("alice", undefined, PASSWD, GROUP), {
    uid: 1000,
    groups: [1000, 50, 10],
  });
  assert.deepEqual(initIdentity("alice", "users", PASSWD, GROUP), {
    uid: 1000,
    gid: 100,
    groups: [100, 50, 10],
  });
  assert.deepEqual(initIdentity(undefined, "wheel", PASSWD, GROUP), { gid: 10, groups: [10] });
  assert.deepEqual(initIdentity(undefined, "77", PASSWD, GROUP), { gid: 77, groups: [77] });
  // A name that looks like a number is a name first; `+N` is a number only.
  assert.deepEqual(initIdentity("42", undefined, PASSWD, GROUP).uid, 4242);
  assert.deepEqual(initIdentity("1000", undefined, PASSWD, GROUP).uid, 1000);
  assert.throws(
    () => initIdentity("+42", undefined, PASSWD, GROUP),
    (error: unknown) => isVirtError(error, 1) && /uid '42'/.test((error as Error).message),
  );
});

Deno.test("initIdentity refuses what the container does not know, with libvirt's words", () => {
  assert.throws(
    () => initIdentity("mallory", undefined, PASSWD, GROUP),
    (error: unknown) =>
      isVirtError(error, 8) && (error as Error).message.includes("Failed to parse user 'mallory'"),
  );
  assert.throws(
    () => initIdentity(undefined, "nogroup", PASSWD, GROUP),
    (error: unknown) =>
      isVirtError(error, 8) && (error as Error).message.includes("Failed to parse group 'nogroup'"),
  );
});

Deno.test("identityArgs: gid and groups before uid; none for root as it is", () => {
  assert.deepEqual(identityArgs({}), []);
  assert.deepEqual(identityArgs({ uid: 1000, groups: [1000, 50] }), [
    "--groups=1000,50",
    "--reuid=1000",
  ]);
  assert.deepEqual(identityArgs({ uid: 1, gid: 2, groups: [2] }), [
    "--regid=2",
    "--groups=2",
    "--reuid=1",
  ]);
});

Deno.test("initPrivileges reads /etc through the definition's mounts", () => {
  const root = Deno.makeTempDirSync({ prefix: "evirt-lxc-root-" });
  const etc = Deno.makeTempDirSync({ prefix: "evirt-lxc-etc-" });
  try {
    Deno.mkdirSync(`${root}/etc`);
    Deno.writeTextFileSync(`${root}/etc/passwd`, "alice:x:1:1::/:/bin/sh\n");
    Deno.writeTextFileSync(`${root}/etc/group`, "");
    Deno.writeTextFileSync(`${etc}/passwd`, PASSWD);
    Deno.writeTextFileSync(`${etc}/group`, GROUP);
    const plain = containerDefinition("plain", { rootDir: root });
    plain.os = { ...plain.os, inituser: "alice" };
    assert.deepEqual(initPrivileges(containerSpec(plain)).args.slice(-2), [
      "--groups=1",
      "--reuid=1",
    ]);
    const mounted = containerDefinition("mounted", {
      rootDir: root,
      filesystems: [filesystemElement("mount", "/etc", { dir: etc })],
    });
    mounted.os = { ...mounted.os, inituser: "alice" };
    mounted.features = { capabilities: { policy: "allow" } };
    assert.deepEqual(initPrivileges(containerSpec(mounted)).args, [
      "--groups=1000,50,10",
      "--reuid=1000",
    ]);
  } finally {
    Deno.removeSync(root, { recursive: true });
    Deno.removeSync(etc, { recursive: true });
  }
});

/**
 * What a container's init may do, on real containers of the LXC driver: the capabilities
 * libvirt's policies leave in its bounding set (read from `/proc/1/status` inside and from the
 * host), `<inituser>`/`<initgroup>`/`<initdir>` (names looked up in the container's own
 * `/etc`), and `<idmap>` (a user namespace: the container sees its maps, and a file its root
 * makes is owned by the mapped uid on the host). Every container is killed by pid in `finally`.
 */

import assert from "node:assert/strict";
import { LxcDriver } from "../../drivers/lxc/lxc_driver.ts";
import { isVirtError } from "../../src/model/errors.ts";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  containerDefinition,
  type ContainerOptions,
  containerSkipReason,
  filesystemElement,
  mappedRootSkipReason,
  openLxcRig,
} from "./_lxc_rig.ts";

/** Longest wait for what a container writes, in ms. */
const WAIT_MS = 10_000;

/** The host id the tests map the container's root to. */
const MAPPED_ROOT = 100_000;

const skip = containerSkipReason();

/** Waits for a file the init writes (complete: it ends with `END`). */
async function written(path: string): Promise<string> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      const text = Deno.readTextFileSync(path);
      if (text.endsWith("END\n")) return text.slice(0, -"END\n".length);
    } catch {
      // Not yet.
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${path}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A field of a `/proc/<pid>/status` text. */
function statusField(text: string, name: string): string {
  const match = new RegExp(`^${name}:\\s*(.*)$`, "m").exec(text);
  assert.ok(match !== null, `no ${name} in ${text}`);
  return match[1].trim();
}

/** A container whose init (`/bin/sh -c`) runs `script`, writes `END` to the file, and waits. */
function scripted(
  name: string,
  data: string,
  script: string,
  options: ContainerOptions = {},
): DomainDefinition {
  return containerDefinition(name, {
    console: false,
    ...options,
    init: "/bin/sh",
    initArgs: ["-c", `${script}; echo END >> /data/out; while :; do sleep 1; done`],
    filesystems: [
      filesystemElement("mount", "/data", { dir: data }),
      ...(options.filesystems ?? []),
    ],
  });
}

/** The bounding set of the test process: the most a container here can have. */
function hostBounding(): bigint {
  return BigInt(`0x${statusField(Deno.readTextFileSync("/proc/self/status"), "CapBnd")}`);
}

function bits(...numbers: number[]): bigint {
  return numbers.reduce((mask, number) => mask | (1n << BigInt(number)), 0n);
}

testIf(
  "capabilities: libvirt's default drops, allow drops only what is off, deny keeps only what is on",
  skip,
  async () => {
    const rig = await openLxcRig();
    const data = Deno.makeTempDirSync({ prefix: "evirt-lxc-data-" });
    try {
      const host = hostBounding();
      // sys_module 16, sys_time 25, mknod 27, audit_control 30, mac_admin 33; net_raw 13 off.
      const cases: Array<
        [string, Record<string, Record<string, string>>, Record<string, string>, bigint]
      > = [
        ["default", {}, {}, host & ~bits(16, 25, 27, 30, 33)],
        [
          "default-toggled",
          { capabilities: { policy: "default" } },
          { mknod: "on", net_raw: "off", sys_boot: "off" },
          host & ~bits(16, 25, 30, 33, 13),
        ],
        ["allow", { capabilities: { policy: "allow" } }, { net_raw: "off" }, host & ~bits(13)],
        [
          "deny",
          { capabilities: { policy: "deny" } },
          { chown: "on", kill: "on", sys_admin: "on" },
          host & bits(0, 5, 21),
        ],
      ];
      for (const [label, features, toggles, expected] of cases) {
        const name = `ct-caps-${label}`;
        Deno.mkdirSync(`${data}/${label}`);
        const definition = scripted(
          name,
          `${data}/${label}`,
          "grep Cap /proc/1/status > /data/out",
        );
        definition.features = features;
        if (Object.keys(toggles).length > 0) definition.featureCapabilities = toggles;
        await rig.host.define(definition);
        await rig.host.start(name);
        const inside = await written(`${data}/${label}/out`);
        const outside = Deno.readTextFileSync(`/proc/${rig.runtime(name).pid}/status`);
        for (const text of [inside, outside]) {
          assert.equal(
            BigInt(`0x${statusField(text, "CapBnd")}`).toString(16),
            expected.toString(16),
            `${label}: ${text}`,
          );
          // Root's permitted and effective sets follow the bounding set.
          assert.equal(statusField(text, "CapEff"), statusField(text, "CapBnd"), label);
        }
        await rig.host.destroy(name);
      }
    } finally {
      await rig.close();
      Deno.removeSync(data, { recursive: true });
    }
  },
);

testIf(
  "<inituser>, <initgroup> and <initdir>: the init runs as the container's user, in its folder",
  skip,
  async () => {
    const rig = await openLxcRig();
    const data = Deno.makeTempDirSync({ prefix: "evirt-lxc-data-" });
    const etc = Deno.makeTempDirSync({ prefix: "evirt-lxc-etc-" });
    try {
      Deno.chmodSync(data, 0o777);
      Deno.chmodSync(etc, 0o755);
      Deno.writeTextFileSync(
        `${etc}/passwd`,
        "root:x:0:0:root:/:/bin/sh\nalice:x:1234:1234:Alice:/home:/bin/sh\n",
      );
      Deno.writeTextFileSync(
        `${etc}/group`,
        "root:x:0:\nalice:x:1234:\nstaff:x:50:alice\nwheel:x:10:bob,alice\n",
      );
      const definition = scripted(
        "ct-user",
        data,
        "pwd > /data/out; grep -E '^(Uid|Gid|Groups|CapEff):' /proc/self/status >> /data/out",
        { console: true, filesystems: [filesystemElement("mount", "/etc", { dir: etc }, true)] },
      );
      definition.os = { ...definition.os, inituser: "alice", initgroup: "wheel", initdir: "/tmp" };
      await rig.host.define(definition);
      await rig.host.start("ct-user");
      const out = await written(`${data}/out`);
      assert.equal(out.split("\n")[0], "/tmp");
      assert.equal(statusField(out, "Uid").split(/\s+/)[0], "1234");
      assert.equal(statusField(out, "Gid").split(/\s+/)[0], "10");
      // getgrouplist("alice", 10): the group given, then the others alice is a member of.
      assert.deepEqual(statusField(out, "Groups").split(/\s+/).sort(), ["10", "50"]);
      assert.equal(statusField(out, "CapEff"), "0000000000000000");
      const info = Deno.statSync(`${data}/out`);
      assert.equal(info.uid, 1234);
      assert.equal(info.gid, 10);
      // The console is the init's user's, as libvirt chowns it.
      const pid = rig.runtime("ct-user").pid;
      assert.equal(Deno.statSync(Deno.readLinkSync(`/proc/${pid}/fd/0`)).uid, 1234);
      await rig.host.destroy("ct-user");

      // A user the container does not know: libvirt's error, nothing left running.
      const unknown = scripted("ct-nouser", data, "true", {
        filesystems: [filesystemElement("mount", "/etc", { dir: etc }, true)],
      });
      unknown.os = { ...unknown.os, inituser: "mallory" };
      await rig.host.define(unknown);
      await assert.rejects(
        () => rig.host.start("ct-nouser"),
        (error: unknown) => {
          assert.ok(isVirtError(error, 8), String(error));
          assert.match((error as Error).message, /Failed to parse user 'mallory'/);
          return true;
        },
      );
      assert.equal(rig.stateText("ct-nouser"), "shut off (unknown)");
    } finally {
      await rig.close();
      Deno.removeSync(data, { recursive: true });
      Deno.removeSync(etc, { recursive: true });
    }
  },
);

testIf(
  "<idmap>: the container runs in a user namespace with those maps; its root's files are the mapped uid's",
  skip ?? mappedRootSkipReason(),
  async () => {
    const rig = await openLxcRig();
    const data = Deno.makeTempDirSync({ prefix: "evirt-lxc-data-" });
    try {
      // As with libvirt, nothing is chowned for the container: its root may write where the
      // mapped uid may.
      Deno.chownSync(data, MAPPED_ROOT, MAPPED_ROOT);
      const definition = scripted(
        "ct-userns",
        data,
        "cat /proc/self/uid_map /proc/self/gid_map > /data/out; touch /data/made-by-root; id -u >> /data/out; hostname >> /data/out; grep CapBnd /proc/1/status >> /data/out",
        { console: true },
      );
      definition.idmap = {
        uids: [{ start: 0, target: MAPPED_ROOT, count: 65536 }],
        gids: [{ start: 0, target: MAPPED_ROOT, count: 65536 }],
      };
      await rig.host.define(definition);
      await rig.host.start("ct-userns");
      const out = await written(`${data}/out`);
      const lines = out.trim().split("\n").map((line) => line.trim().split(/\s+/).join(" "));
      assert.deepEqual(lines.slice(0, 4), [
        `0 ${MAPPED_ROOT} 65536`,
        `0 ${MAPPED_ROOT} 65536`,
        "0",
        "ct-userns",
      ]);
      assert.equal(
        BigInt(`0x${statusField(out, "CapBnd")}`).toString(16),
        (hostBounding() & ~bits(16, 25, 27, 30, 33)).toString(16),
        "the default drops",
      );
      const made = Deno.statSync(`${data}/made-by-root`);
      assert.equal(made.uid, MAPPED_ROOT);
      assert.equal(made.gid, MAPPED_ROOT);
      const pid = rig.runtime("ct-userns").pid;
      assert.equal(
        Deno.readTextFileSync(`/proc/${pid}/uid_map`).trim().split(/\s+/).join(" "),
        `0 ${MAPPED_ROOT} 65536`,
      );
      assert.equal(Deno.statSync(`/proc/${pid}`).uid, MAPPED_ROOT);
      assert.equal(rig.stateText("ct-userns"), "running (booted)");
      // A reboot makes the namespace again: a new init with the same maps.
      Deno.removeSync(`${data}/out`);
      await rig.host.reboot("ct-userns");
      const again = await written(`${data}/out`);
      assert.equal(
        again.trim().split("\n")[0].trim().split(/\s+/).join(" "),
        `0 ${MAPPED_ROOT} 65536`,
      );
      const rebooted = LxcDriver.initOf(rig.runtime("ct-userns"));
      assert.ok(rebooted !== undefined && rebooted.pid !== pid, "the init was not replaced");
      assert.equal(rig.stateText("ct-userns"), "running (booted)");
      await rig.host.destroy("ct-userns");
      assert.equal(rig.stateText("ct-userns"), "shut off (destroyed)");
    } finally {
      await rig.close();
      Deno.removeSync(data, { recursive: true });
    }
  },
);

testIf(
  "<idmap> where the kernel refuses user namespaces: libvirt's error, nothing made",
  skip ?? missing("unshare"),
  async () => {
    // A user namespace of the test's own whose limit of further user namespaces is 0: the
    // kernel there refuses what `<idmap>` needs, as one without user namespaces does.
    const worker = new URL("./_lxc_userns_refusal_worker.ts", import.meta.url).pathname;
    const output = await new Deno.Command("unshare", {
      args: [
        "--user",
        "--map-root-user",
        "--",
        "/bin/sh",
        "-c",
        'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"',
        "sh",
        Deno.execPath(),
        "run",
        "--allow-all",
        worker,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.ok(output.success, stderr);
    const result = JSON.parse(new TextDecoder().decode(output.stdout).trim().split("\n").at(-1)!);
    assert.deepEqual(result, {
      code: 67,
      message: "Kernel doesn't support user namespace",
      state: "shut off (unknown)",
      left: [],
    });
  },
);

testIf(
  "<idmap> maps the kernel refuses (overlapping ranges) fail the start and leave nothing",
  skip ?? mappedRootSkipReason(),
  async () => {
    const rig = await openLxcRig();
    try {
      const definition = containerDefinition("ct-overlap", { console: false });
      definition.idmap = {
        uids: [
          { start: 0, target: MAPPED_ROOT, count: 10 },
          { start: 5, target: 2 * MAPPED_ROOT, count: 10 },
        ],
        gids: [{ start: 0, target: MAPPED_ROOT, count: 10 }],
      };
      await rig.host.define(definition);
      await assert.rejects(() => rig.host.start("ct-overlap"), (error: unknown) => {
        assert.ok(isVirtError(error, 9), String(error));
        assert.match((error as Error).message, /cannot make the container's user namespace/);
        return true;
      });
      assert.equal(rig.stateText("ct-overlap"), "shut off (unknown)");
      assert.deepEqual([...Deno.readDirSync(`${rig.dir}/run/lxc`)], [], "runtime folders left");
      const holders = new Deno.Command("pgrep", { args: ["-f", "unshare --user sleep 30"] })
        .outputSync();
      assert.equal(new TextDecoder().decode(holders.stdout).trim(), "", "a holder is left");
    } finally {
      await rig.close();
    }
  },
);

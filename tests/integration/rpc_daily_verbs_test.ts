/**
 * python3-libvirt drives the daily verbs' procedures of the real evirt service: `sendKey`
 * (REMOTE_PROC 226) with its checks, `rename` (358), and the shutdown and reboot agent flags,
 * each answering with libvirt's error codes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runChild } from "../support/child_process.ts";
import { missing, testIf } from "../support/environment.ts";
import { guestSkipReason } from "../support/guest.ts";
import { killQemus, serviceQemuPids } from "../support/service_qemus.ts";
import { guestDefinition } from "./_qemu_guest.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";
import { runEvirt } from "../support/cli_process.ts";
import { pythonLibvirtSkipReason, SYSTEM_PYTHON } from "../support/python_libvirt.ts";

const SCRIPT = `
import json, sys
import libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)

conn = libvirt.open(sys.argv[1])
out = {}
def attempt(name, call):
    try:
        out[name] = ["ok", call()]
    except libvirt.libvirtError as error:
        out[name] = [error.get_error_code(), error.get_error_message()]

dom = conn.lookupByName("keys")
dom.create()
attempt("send", lambda: dom.sendKey(libvirt.VIR_KEYCODE_SET_LINUX, 50, [29, 56, 111], 3, 0))
attempt("send_usb", lambda: dom.sendKey(libvirt.VIR_KEYCODE_SET_USB, 0, [4], 1, 0))
attempt("send_bad_code", lambda: dom.sendKey(libvirt.VIR_KEYCODE_SET_LINUX, 0, [999], 1, 0))
attempt("send_bad_codeset", lambda: dom.sendKey(42, 0, [1], 1, 0))
attempt("shutdown_agent", lambda: dom.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT))
attempt("reboot_agent", lambda: dom.reboot(libvirt.VIR_DOMAIN_REBOOT_GUEST_AGENT))
attempt("rename_active", lambda: dom.rename("renamed", 0))
dom.destroy()
attempt("send_inactive", lambda: dom.sendKey(libvirt.VIR_KEYCODE_SET_LINUX, 0, [30], 1, 0))
attempt("rename", lambda: dom.rename("renamed", 0))
out["name_after"] = dom.name()
out["names"] = sorted(d.name() for d in conn.listAllDomains())
print(json.dumps(out))
`;

testIf(
  "python3-libvirt sends keys, renames and asks for agent shutdowns over libvirt's protocol",
  pythonLibvirtSkipReason(),
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const service = await startServiceProcess(dirs);
    try {
      await service.client.define({
        xml: `<domain type='test'><name>keys</name><memory unit='KiB'>524288</memory>
<vcpu>1</vcpu><os><type>hvm</type></os></domain>`,
      });
      await Deno.writeTextFile(`${base}/client.py`, SCRIPT);
      const output = await runChild(
        SYSTEM_PYTHON,
        [`${base}/client.py`, socketUri(`${dirs.runtimeDir}/libvirt-sock`)],
        {},
        60_000,
      );
      assert.equal(output.code, 0, output.stderr);
      const result = JSON.parse(output.stdout);
      assert.deepEqual(result.send, ["ok", 0]);
      assert.deepEqual(result.send_usb, ["ok", 0]);
      assert.deepEqual(result.send_bad_code, [
        1,
        "internal error: invalid keycode 999 of linux codeset",
      ]);
      assert.deepEqual(result.send_bad_codeset, [8, "Unsupported codeset '42'"]);
      assert.equal(result.shutdown_agent[0], 8);
      assert.match(result.shutdown_agent[1], /unsupported flags \(0x2\)/);
      assert.deepEqual(result.reboot_agent, ["ok", 0]);
      assert.deepEqual(result.rename_active, [
        55,
        "Requested operation is not valid: cannot rename active domain",
      ]);
      assert.deepEqual(result.send_inactive, [
        55,
        "Requested operation is not valid: domain is not running",
      ]);
      assert.deepEqual(result.rename, ["ok", 0]);
      assert.equal(result.name_after, "renamed");
      assert.deepEqual(result.names, ["renamed"]);
    } finally {
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

const virshPresent = (() => {
  try {
    return Deno.statSync("/usr/bin/virsh").isFile;
  } catch {
    return false;
  }
})();

testIf(
  "virsh screenshot receives the image as a stream over libvirt's protocol",
  virshPresent ? undefined : "/usr/bin/virsh is absent (libvirt-clients)",
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const service = await startServiceProcess(dirs);
    try {
      await service.client.define({
        xml: `<domain type='test'><name>shot</name><memory unit='KiB'>524288</memory>
<vcpu>1</vcpu><os><type>hvm</type></os></domain>`,
      });
      await service.client.action("shot", "start");
      const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
      const file = `${base}/shot.png`;
      const run = await runVirsh(uri, ["screenshot", "shot", file]);
      assert.deepEqual(run, {
        code: 0,
        stdout: `Screenshot saved to ${file}, with type of image/png\n`,
        stderr: "",
      });
      const image = await Deno.readFile(file);
      const direct = await service.client.screenshot("shot");
      assert.deepEqual(image, direct.data);
      // The connection still answers after the stream ended.
      const after = await runVirsh(uri, ["screenshot", "shot", file]);
      assert.equal(after.code, 0, after.stderr);
    } finally {
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

testIf(
  "virsh qemu-monitor-command and qemu-agent-command reach a real QEMU over the QEMU program",
  guestSkipReason() ?? missing("qemu-system-x86_64", "virsh"),
  async () => {
    const dirs = await serviceDirs();
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const pids: number[] = [];
    try {
      const definition = guestDefinition("monitored", { serial: "pty" });
      definition.devices.videos.push({ model: { type: "vga" } });
      await service.client.define({ definition });
      await service.client.action("monitored", "start");
      pids.push(...serviceQemuPids(dirs.runtimeDir));
      const status = await runVirsh(uri, [
        "qemu-monitor-command",
        "monitored",
        '{"execute":"query-status"}',
      ]);
      assert.equal(status.code, 0, status.stderr);
      assert.equal(JSON.parse(status.stdout).return.status, "running");
      const pretty = await runVirsh(uri, [
        "qemu-monitor-command",
        "monitored",
        "--pretty",
        '{"execute":"query-status"}',
      ]);
      assert.match(pretty.stdout, /^\{\n {2}"return": \{\n/);
      const hmp = await runVirsh(uri, [
        "qemu-monitor-command",
        "monitored",
        "--hmp",
        "info",
        "status",
      ]);
      assert.equal(hmp.code, 0, hmp.stderr);
      assert.match(hmp.stdout, /VM status: running/);
      const agent = await runVirsh(uri, [
        "qemu-agent-command",
        "monitored",
        '{"execute":"guest-ping"}',
      ]);
      assert.equal(agent.code, 1);
      assert.equal(
        agent.stderr,
        "error: argument unsupported: QEMU guest agent is not configured\n",
      );
      // evirt's CLI over the HTTP API gives the same answers, and saves a PPM screenshot.
      const evirtEnv = { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" };
      const cli = await runEvirt(
        ["qemu-monitor-command", "monitored", "--return-value", '{"execute":"query-status"}'],
        evirtEnv,
      );
      assert.equal(cli.code, 0, cli.stderr);
      assert.equal(JSON.parse(cli.stdout).status, "running");
      const cliHmp = await runEvirt(
        ["qemu-monitor-command", "monitored", "--hmp", "info", "status"],
        evirtEnv,
      );
      assert.equal(cliHmp.stdout, hmp.stdout);
      const cliAgent = await runEvirt(
        ["qemu-agent-command", "monitored", '{"execute":"guest-ping"}'],
        evirtEnv,
      );
      assert.deepEqual([cliAgent.code, cliAgent.stderr], [agent.code, agent.stderr]);
      const shotPath = `${dirs.stateDir}/../monitored.ppm`;
      const shot = await runEvirt(["screenshot", "monitored", shotPath], evirtEnv);
      assert.equal(shot.code, 0, shot.stderr);
      assert.equal(
        shot.stdout,
        `Screenshot saved to ${shotPath}, with type of image/x-portable-pixmap\n\n`,
      );
      const keys = await runEvirt(["send-key", "monitored", "KEY_LEFTCTRL", "KEY_C"], evirtEnv);
      assert.deepEqual([keys.code, keys.stderr], [0, ""]);
      // Read-only callers may not pass commands to the monitor (code 29).
      const readOnly = await runVirsh(socketUri(`${dirs.runtimeDir}/libvirt-sock-ro`), [
        "qemu-monitor-command",
        "monitored",
        '{"execute":"query-status"}',
      ]);
      assert.equal(readOnly.code, 1);
      assert.match(readOnly.stderr, /read only access prevents virDomainQemuMonitorCommand/);
    } finally {
      await service.stop("SIGTERM");
      await killQemus(pids);
      await removeServiceDirs(dirs);
    }
  },
);

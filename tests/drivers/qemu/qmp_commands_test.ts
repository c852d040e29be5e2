import assert from "node:assert/strict";
import {
  type QmpCallOptions,
  QmpCommands,
  type QmpExecutor,
} from "../../../drivers/qemu/qmp_commands.ts";
import { QmpProtocolError } from "../../../drivers/qemu/qmp_errors.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";

interface Call {
  execute: string;
  args: Record<string, unknown> | undefined;
  options: QmpCallOptions | undefined;
}

/** Records every command and answers from a table keyed by command name. */
function recording(answers: Record<string, unknown> = {}): { calls: Call[]; qmp: QmpCommands } {
  const calls: Call[] = [];
  const executor: QmpExecutor = {
    execute<T>(execute: string, args?: Record<string, unknown>, options?: QmpCallOptions) {
      calls.push({ execute, args, options });
      return Promise.resolve((execute in answers ? answers[execute] : {}) as T);
    },
  };
  return { calls, qmp: new QmpCommands(executor) };
}

async function assertInvalid(promise: Promise<unknown>, where: string): Promise<void> {
  const error = await promise.catch((e) => e);
  assert.ok(error instanceof VirtError, `expected a VirtError for ${where}`);
  assert.equal(error.code, ErrorCode.INVALID_ARG);
  assert.equal(error.where, where);
}

Deno.test("QmpCommands sends each simple command by its QMP name without arguments", async () => {
  const { calls, qmp } = recording();
  await qmp.stop();
  await qmp.cont();
  await qmp.systemPowerdown();
  await qmp.systemReset();
  assert.deepEqual(calls.map((call) => [call.execute, call.args]), [
    ["stop", undefined],
    ["cont", undefined],
    ["system_powerdown", undefined],
    ["system_reset", undefined],
  ]);
});

Deno.test("QmpCommands passes timeout and signal through to the monitor", async () => {
  const { calls, qmp } = recording({ "query-status": { status: "running", running: true } });
  const controller = new AbortController();
  await qmp.queryStatus({ timeoutMs: 1234, signal: controller.signal });
  await qmp.deviceDel("disk1", { timeoutMs: 99 });
  assert.equal(calls[0].options?.timeoutMs, 1234);
  assert.equal(calls[0].options?.signal, controller.signal);
  assert.equal(calls[1].options?.timeoutMs, 99);
});

Deno.test("QmpCommands.queryStatus returns the run state and refuses a malformed reply", async () => {
  const { qmp } = recording({ "query-status": { status: "prelaunch", running: false } });
  assert.deepEqual(await qmp.queryStatus(), { status: "prelaunch", running: false });
  for (const reply of [{ status: "flying", running: true }, { status: "running" }, [], null]) {
    const { qmp: bad } = recording({ "query-status": reply });
    await assert.rejects(bad.queryStatus(), QmpProtocolError);
  }
});

Deno.test("QmpCommands.queryBlockstats asks for nodes only when told to", async () => {
  const stats = [{ "node-name": "f0", stats: { "wr_highest_offset": 106954752 } }];
  const { calls, qmp } = recording({ "query-blockstats": stats });
  assert.deepEqual(await qmp.queryBlockstats(), stats);
  await qmp.queryBlockstats({ queryNodes: true });
  assert.equal(calls[0].args, undefined);
  assert.deepEqual(calls[1].args, { "query-nodes": true });
  const { qmp: bad } = recording({ "query-blockstats": [{ device: "x" }] });
  await assert.rejects(bad.queryBlockstats(), /unexpected reply to 'query-blockstats'/);
});

Deno.test("QmpCommands list queries refuse replies that are not arrays of objects", async () => {
  const { qmp } = recording({
    "query-block": {},
    "query-named-block-nodes": [1],
    "query-cpus-fast": "x",
  });
  await assert.rejects(qmp.queryBlock(), QmpProtocolError);
  await assert.rejects(qmp.queryNamedBlockNodes(), QmpProtocolError);
  await assert.rejects(qmp.queryCpusFast(), QmpProtocolError);
});

Deno.test("QmpCommands.queryNamedBlockNodes passes flat", async () => {
  const { calls, qmp } = recording({ "query-named-block-nodes": [] });
  await qmp.queryNamedBlockNodes({ flat: true });
  assert.deepEqual(calls[0].args, { flat: true });
});

Deno.test("QmpCommands.balloon sends bytes and refuses a non-positive target", async () => {
  const { calls, qmp } = recording({ "query-balloon": { actual: 134217728 } });
  await qmp.balloon(64 * 1024 * 1024);
  assert.deepEqual(calls[0].args, { value: 67108864 });
  assert.deepEqual(await qmp.queryBalloon(), { actual: 134217728 });
  await assertInvalid(qmp.balloon(0), "valueBytes");
  await assertInvalid(qmp.balloon(1.5), "valueBytes");
  assert.equal(calls.length, 2);
});

Deno.test("QmpCommands.qomGet sends path and property", async () => {
  const { calls, qmp } = recording({ "qom-get": 42 });
  assert.equal(await qmp.qomGet("/machine", "type"), 42);
  assert.deepEqual(calls[0].args, { path: "/machine", property: "type" });
  await assertInvalid(qmp.qomGet("", "type"), "path");
});

Deno.test("QmpCommands.queryVersion checks the version numbers", async () => {
  const version = { qemu: { major: 7, minor: 2, micro: 22 }, package: "Debian" };
  assert.deepEqual(await recording({ "query-version": version }).qmp.queryVersion(), version);
  await assert.rejects(
    recording({ "query-version": { qemu: {} } }).qmp.queryVersion(),
    QmpProtocolError,
  );
});

Deno.test("QmpCommands block, device, netdev and chardev changes send their arguments", async () => {
  const { calls, qmp } = recording({ "chardev-add": { pty: "/dev/pts/3" } });
  await qmp.blockdevAdd({ driver: "file", "node-name": "f1", filename: "/tmp/x.raw" });
  await qmp.blockdevDel("f1");
  await qmp.deviceAdd({ driver: "virtio-blk-pci", id: "disk1", drive: "d1" });
  await qmp.deviceDel("disk1");
  await qmp.netdevAdd({ type: "user", id: "net0" });
  await qmp.netdevDel("net0");
  assert.deepEqual(await qmp.chardevAdd("ch0", { type: "pty", data: {} }), { pty: "/dev/pts/3" });
  await qmp.chardevRemove("ch0");
  assert.deepEqual(calls.map((call) => [call.execute, call.args]), [
    ["blockdev-add", { driver: "file", "node-name": "f1", filename: "/tmp/x.raw" }],
    ["blockdev-del", { "node-name": "f1" }],
    ["device_add", { driver: "virtio-blk-pci", id: "disk1", drive: "d1" }],
    ["device_del", { id: "disk1" }],
    ["netdev_add", { type: "user", id: "net0" }],
    ["netdev_del", { id: "net0" }],
    ["chardev-add", { id: "ch0", backend: { type: "pty", data: {} } }],
    ["chardev-remove", { id: "ch0" }],
  ]);
});

Deno.test("QmpCommands.setLink sends the NIC's id and the link as a boolean", async () => {
  const { calls, qmp } = recording();
  await qmp.setLink("net1", false);
  await qmp.setLink("net1", true);
  assert.deepEqual(calls.map((call) => [call.execute, call.args]), [
    ["set_link", { name: "net1", up: false }],
    ["set_link", { name: "net1", up: true }],
  ]);
  await assertInvalid(qmp.setLink("a b", true), "name");
  await assertInvalid(qmp.setLink("net1", "down" as never), "up");
  assert.equal(calls.length, 2, "nothing sent for a malformed call");
});

Deno.test("QmpCommands refuse malformed ids and node names before sending", async () => {
  const { calls, qmp } = recording();
  await assertInvalid(qmp.blockdevAdd({ driver: "file", "node-name": "1bad" }), "node-name");
  await assertInvalid(
    qmp.blockdevAdd({ driver: "file", "node-name": "n".repeat(32) }),
    "node-name",
  );
  await assertInvalid(qmp.blockdevAdd({ driver: "", "node-name": "ok" }), "driver");
  await assertInvalid(qmp.blockdevDel("has space"), "nodeName");
  await assertInvalid(qmp.deviceAdd({ driver: "virtio-blk-pci", id: "a/b" }), "id");
  await assertInvalid(qmp.netdevAdd({ type: "user", id: "" }), "id");
  await assertInvalid(qmp.netdevDel("-x"), "id");
  await assertInvalid(qmp.chardevAdd("ok", { type: "file", data: [] as never }), "backend.data");
  await assertInvalid(qmp.chardevRemove("é"), "id");
  await assertInvalid(qmp.deviceDel(""), "id");
  assert.equal(calls.length, 0);
});

Deno.test("QmpCommands.humanMonitorCommand returns HMP's text and refuses several lines", async () => {
  const { calls, qmp } = recording({ "human-monitor-command": "QEMU 7.2.22\r\n" });
  assert.equal(await qmp.humanMonitorCommand("info version"), "QEMU 7.2.22\r\n");
  assert.deepEqual(calls[0].args, { "command-line": "info version" });
  await assertInvalid(qmp.humanMonitorCommand("info version\nquit"), "commandLine");
  await assertInvalid(qmp.humanMonitorCommand(""), "commandLine");
  await assert.rejects(
    recording({ "human-monitor-command": 3 }).qmp.humanMonitorCommand("info version"),
    QmpProtocolError,
  );
});

Deno.test("QmpCommands.qomSet sends path, property and value and refuses a missing value", async () => {
  const { calls, qmp } = recording();
  await qmp.qomSet("balloon0", "guest-stats-polling-interval", 5);
  assert.deepEqual(calls[0], {
    execute: "qom-set",
    args: { path: "balloon0", property: "guest-stats-polling-interval", value: 5 },
    options: {},
  });
  await assertInvalid(qmp.qomSet("balloon0", "x", undefined), "value");
});

Deno.test("QmpCommands.queryChardev returns labels and filenames and refuses other shapes", async () => {
  const chardevs = [{ label: "charserial0", filename: "pty:/dev/pts/3", "frontend-open": true }];
  const { qmp } = recording({ "query-chardev": chardevs });
  assert.deepEqual(await qmp.queryChardev(), chardevs);
  const bad = recording({ "query-chardev": [{ label: "x" }] });
  await assert.rejects(bad.qmp.queryChardev(), QmpProtocolError);
});

Deno.test("QmpCommands.queryVncServers returns each server's addresses and refuses other shapes", async () => {
  const servers = [{
    id: "default",
    server: [{ host: "127.0.0.1", service: "5900", family: "ipv4", websocket: false }],
    clients: [],
  }];
  const { qmp } = recording({ "query-vnc-servers": servers });
  assert.deepEqual(await qmp.queryVncServers(), servers);
  const bad = recording({ "query-vnc-servers": [{ id: "default", server: [{ host: "x" }] }] });
  await assert.rejects(bad.qmp.queryVncServers(), QmpProtocolError);
  const noList = recording({ "query-vnc-servers": [{ id: "default" }] });
  await assert.rejects(noList.qmp.queryVncServers(), QmpProtocolError);
});

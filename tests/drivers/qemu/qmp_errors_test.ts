import assert from "node:assert/strict";
import {
  QmpAbortedError,
  QmpBusyError,
  QmpCommandError,
  QmpConnectError,
  QmpDisconnectedError,
  QmpProtocolError,
  QmpTimeoutError,
} from "../../../drivers/qemu/qmp_errors.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";

Deno.test("QMP errors carry libvirt codes and stable names", () => {
  const cases: Array<[VirtError, number, string]> = [
    [new QmpDisconnectedError("eof"), ErrorCode.OPERATION_FAILED, "QmpDisconnectedError"],
    [new QmpTimeoutError("stop", 5000), ErrorCode.OPERATION_TIMEOUT, "QmpTimeoutError"],
    [
      new QmpCommandError("stop", "GenericError", "no"),
      ErrorCode.INTERNAL_ERROR,
      "QmpCommandError",
    ],
    [new QmpProtocolError("bad"), ErrorCode.INTERNAL_ERROR, "QmpProtocolError"],
    [new QmpAbortedError("stop"), ErrorCode.OPERATION_ABORTED, "QmpAbortedError"],
    [new QmpBusyError("stop", 64), ErrorCode.RESOURCE_BUSY, "QmpBusyError"],
    [new QmpConnectError("/x", new Error("gone")), ErrorCode.OPERATION_FAILED, "QmpConnectError"],
  ];
  for (const [error, code, name] of cases) {
    assert.ok(error instanceof VirtError, name);
    assert.equal(error.code, code, name);
    assert.equal(error.name, name);
    assert.equal(error.message, error.message.trim());
    assert.match(error.message, /^[a-z]/, name);
  }
});

Deno.test("QmpDisconnectedError tells end of file from a local close", () => {
  assert.equal(new QmpDisconnectedError("eof").message, "end of file from qemu monitor");
  assert.equal(new QmpDisconnectedError("closed").message, "qemu monitor is closed");
  const cause = new Error("reset by peer");
  assert.equal(new QmpDisconnectedError("eof", { cause }).cause, cause);
});

Deno.test("QmpCommandError keeps QEMU's class and description", () => {
  const error = new QmpCommandError("blockdev-del", "GenericError", "Node 'x' is in use");
  assert.equal(error.class, "GenericError");
  assert.equal(error.desc, "Node 'x' is in use");
  assert.equal(error.command, "blockdev-del");
  assert.deepEqual(error.toJSON(), {
    code: 1,
    name: "INTERNAL_ERROR",
    message: "internal error: unable to execute QEMU command 'blockdev-del': Node 'x' is in use",
    detail: "unable to execute QEMU command 'blockdev-del': Node 'x' is in use",
  });
});

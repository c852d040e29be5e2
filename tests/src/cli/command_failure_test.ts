import assert from "node:assert/strict";
import { ArgumentError } from "../../../src/cli/arguments.ts";
import {
  CommandFailure,
  domainCommand,
  domainFailure,
  errorLines,
} from "../../../src/cli/command_failure.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";

Deno.test("errorLines prints an argument error's message alone", () => {
  assert.deepEqual(errorLines(new ArgumentError("unexpected data 'x'", "x")), [
    "unexpected data 'x'",
  ]);
});

Deno.test("errorLines prints libvirt's full message of a VirtError", () => {
  const error = new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
  assert.deepEqual(errorLines(error), ["Requested operation is not valid: domain is not running"]);
});

Deno.test("errorLines prints a failure's context, then its cause", () => {
  const cause = new VirtError(
    ErrorCode.OPERATION_DENIED,
    "read only access prevents virDomainDestroy",
  );
  assert.deepEqual(errorLines(new CommandFailure("Failed to destroy domain 'x'", cause)), [
    "Failed to destroy domain 'x'",
    "operation forbidden: read only access prevents virDomainDestroy",
  ]);
  assert.deepEqual(errorLines(new CommandFailure("unknown event type x")), [
    "unknown event type x",
  ]);
});

Deno.test("errorLines says the connection failed before why", () => {
  const error = new VirtError(
    ErrorCode.NO_CONNECT,
    "Failed to connect socket to '/r/evirt.sock': No such file or directory",
  );
  assert.deepEqual(errorLines(error), [
    "failed to connect to the hypervisor",
    "Failed to connect socket to '/r/evirt.sock': No such file or directory",
  ]);
});

Deno.test("errorLines prints the message of any other error", () => {
  assert.deepEqual(errorLines(new TypeError("boom")), ["boom"]);
  assert.deepEqual(errorLines("text"), ["text"]);
});

Deno.test("domainFailure turns a missing domain into virsh's lookup failure", () => {
  const missing = new VirtError(ErrorCode.NO_DOMAIN, "no domain with matching name 'x'");
  const failure = domainFailure("x", "Failed to start domain 'x'", missing);
  assert.ok(failure instanceof CommandFailure);
  assert.deepEqual(errorLines(failure), ["failed to get domain 'x'"]);
});

Deno.test("domainFailure keeps other errors, with the context when given", () => {
  const refused = new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
  assert.equal(domainFailure("x", undefined, refused), refused);
  assert.deepEqual(errorLines(domainFailure("x", "Failed to suspend domain 'x'", refused)), [
    "Failed to suspend domain 'x'",
    "Requested operation is not valid: domain is not running",
  ]);
  const unreachable = new VirtError(ErrorCode.NO_CONNECT, "gone");
  assert.equal(domainFailure("x", "Failed to start domain 'x'", unreachable), unreachable);
});

Deno.test("domainCommand returns the command's result or throws the failure", async () => {
  assert.equal(await domainCommand("x", undefined, () => Promise.resolve(3)), 3);
  await assert.rejects(
    domainCommand("x", undefined, () => Promise.reject(new VirtError(ErrorCode.NO_DOMAIN, "gone"))),
    (error: Error) =>
      error instanceof CommandFailure && error.message === "failed to get domain 'x'",
  );
});

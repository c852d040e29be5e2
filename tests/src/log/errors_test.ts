import assert from "node:assert/strict";
import {
  AppendQueueFullError,
  EventStoreCorruptError,
  EventStoreWriteError,
  PositionPrunedError,
  StateLockedError,
  StoreClosedError,
  VersionConflictError,
} from "../../../src/log/errors.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";

Deno.test("log errors carry libvirt codes and lower-case messages", () => {
  const cases: [VirtError, number, string][] = [
    [
      new VersionConflictError("domain/web", 2, 3),
      ErrorCode.OPERATION_FAILED,
      "version conflict on stream 'domain/web': expected version 2, found 3",
    ],
    [
      new PositionPrunedError("afterPosition", 5, 9),
      ErrorCode.INVALID_ARG,
      "position 5 was pruned from the event log: the oldest retained is 9",
    ],
    [
      new PositionPrunedError("fromVersion", 1, 4),
      ErrorCode.INVALID_ARG,
      "version 1 was pruned from the event log: the oldest retained is 4",
    ],
    [
      new StateLockedError("/srv/evirt"),
      ErrorCode.OPERATION_FAILED,
      "state directory '/srv/evirt' is locked: another evirt service is using it",
    ],
    [new StoreClosedError(), ErrorCode.OPERATION_INVALID, "event log is closed"],
    [
      new AppendQueueFullError(4),
      ErrorCode.RESOURCE_BUSY,
      "event log is busy: 4 appends are already waiting to be committed",
    ],
    [
      new EventStoreWriteError(new Error("database or disk is full")),
      ErrorCode.SYSTEM_ERROR,
      "cannot write the event log: no space left on device (database or disk is full)",
    ],
    [
      new EventStoreCorruptError("fact 3 is torn"),
      ErrorCode.INTERNAL_ERROR,
      "event log: fact 3 is torn",
    ],
  ];
  for (const [error, code, message] of cases) {
    assert.ok(error instanceof VirtError);
    assert.equal(error.code, code, error.name);
    assert.equal(error.message, message);
  }
});

Deno.test("VersionConflictError serialises with its libvirt code name", () => {
  assert.deepEqual(new VersionConflictError("s", 0, 1).toJSON(), {
    code: 9,
    name: "OPERATION_FAILED",
    message: "operation failed: version conflict on stream 's': expected version 0, found 1",
    detail: "version conflict on stream 's': expected version 0, found 1",
    where: "expectedVersion",
  });
});

import assert from "node:assert/strict";
import { QmpEventName, shutdownData } from "../../../drivers/qemu/qmp_events.ts";

const timestamp = { seconds: 1, microseconds: 2 };

Deno.test("shutdownData reads guest and reason of SHUTDOWN", () => {
  assert.deepEqual(
    shutdownData({
      event: QmpEventName.SHUTDOWN,
      data: { guest: true, reason: "guest-shutdown" },
      timestamp,
    }),
    { guest: true, reason: "guest-shutdown" },
  );
});

Deno.test("shutdownData defaults missing or mistyped fields", () => {
  assert.deepEqual(shutdownData({ event: "RESET", data: {}, timestamp }), {
    guest: false,
    reason: "none",
  });
  assert.deepEqual(shutdownData({ event: "RESET", data: { guest: "yes", reason: 3 }, timestamp }), {
    guest: false,
    reason: "none",
  });
});

Deno.test("QmpEventName values equal their keys", () => {
  for (const [key, value] of Object.entries(QmpEventName)) assert.equal(key, value);
});

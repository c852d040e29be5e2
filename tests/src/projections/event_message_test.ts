import assert from "node:assert/strict";
import { passes } from "../../../src/projections/event_message.ts";
import type { EventMessage } from "../../../src/api/views.ts";

function message(event: string | null): EventMessage {
  return {
    position: 1,
    time: "2026-01-01T00:00:00.000Z",
    domain: { uuid: "6695eb01-f6a4-8304-79aa-97f2502e193f", name: "test" },
    fact: "domain.block_job_ended",
    eventId: event === null ? null : 16,
    event,
  };
}

Deno.test("passes lets a block job event through a filter on block-job or block-job-2", () => {
  assert.ok(passes(message("block-job-2"), { events: new Set(["block-job"]) }));
  assert.ok(passes(message("block-job-2"), { events: new Set(["block-job-2"]) }));
  assert.ok(!passes(message("block-job-2"), { events: new Set(["lifecycle"]) }));
  assert.ok(!passes(message(null), { events: new Set(["block-job"]) }));
});

import assert from "node:assert/strict";
import { waitForDomain, type WaitSource } from "../../actors/domain_waits.ts";
import type { AppliedFact } from "../../actors/domain_actor.ts";
import type { DomainSummary } from "../../src/model/domain_list.ts";
import { isVirtError } from "../../src/model/errors.ts";

const UUID = "00000000-0000-4000-8000-000000000001";

/** A source whose domain the test changes by hand, telling listeners as the host would. */
function source(initial: DomainSummary | undefined) {
  let current = initial;
  const listeners = new Set<(uuid: string, applied: AppliedFact[]) => void>();
  const wait: WaitSource = {
    summaryOf: () => current,
    onApplied(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    wait,
    listeners,
    change(next: DomainSummary | undefined, uuid = UUID) {
      current = next;
      for (const listener of [...listeners]) listener(uuid, []);
    },
  };
}

const summary = (active: boolean): DomainSummary => ({
  uuid: UUID,
  name: "web",
  id: active ? 1 : null,
  state: active ? 1 : 5,
  reason: 0,
  persistent: true,
  autostart: false,
  active,
  pendingFacts: null,
});

Deno.test("waitForDomain resolves at once when the condition already holds", async () => {
  const { wait, listeners } = source(summary(false));
  assert.equal((await waitForDomain(wait, UUID, (each) => !each.active, 1000))?.active, false);
  assert.equal(listeners.size, 0);
});

Deno.test("waitForDomain resolves after the fact that makes the condition hold, and stops listening", async () => {
  const domain = source(summary(true));
  const waiting = waitForDomain(domain.wait, UUID, (each) => !each.active, 1000);
  domain.change(summary(true), "00000000-0000-4000-8000-000000000002");
  domain.change(summary(false));
  assert.equal((await waiting)?.active, false);
  assert.equal(domain.listeners.size, 0);
});

Deno.test("waitForDomain resolves with undefined when the domain vanishes", async () => {
  const domain = source(summary(true));
  const waiting = waitForDomain(domain.wait, UUID, (each) => !each.active, 1000);
  domain.change(undefined);
  assert.equal(await waiting, undefined);
});

Deno.test("waitForDomain rejects with code 68 after its timeout and stops listening", async () => {
  const domain = source(summary(true));
  await assert.rejects(
    waitForDomain(domain.wait, UUID, (each) => !each.active, 10),
    (error) => isVirtError(error, 68) && /after 10 ms/.test(error.message),
  );
  assert.equal(domain.listeners.size, 0);
});

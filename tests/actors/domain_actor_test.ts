import assert from "node:assert/strict";
import { initialTransition } from "xstate";
import {
  COMMAND_QUEUE_MAX,
  DomainActor,
  OBSERVATION_QUEUE_MAX,
  ObservationQueueFullError,
} from "../../actors/domain_actor.ts";
import { domainMachine, type DomainSnapshot } from "../../actors/domain_machine.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { ErrorCode, isVirtError } from "../../src/model/errors.ts";
import { testUuid } from "../support/domains.ts";

function actor(): DomainActor {
  const uuid = testUuid();
  const [snapshot] = initialTransition(domainMachine, { uuid });
  return new DomainActor({
    uuid,
    store: createMemoryStore(),
    snapshot: snapshot as DomainSnapshot,
    version: 0,
    onApplied: () => {},
  });
}

/** Occupies the actor with a job that runs until `release` is called. */
function occupy(subject: DomainActor): { release: () => void; done: Promise<unknown> } {
  let release = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  const done = subject.run("hold", {}, () => gate);
  return { release, done };
}

Deno.test("DomainActor refuses the newest observation beyond OBSERVATION_QUEUE_MAX and drops none queued", async () => {
  const subject = actor();
  const hold = occupy(subject);
  const ran: number[] = [];
  const queued: Promise<unknown>[] = [];
  for (let index = 0; index < OBSERVATION_QUEUE_MAX; index++) {
    queued.push(
      subject.run(`observe ${index}`, { kind: "observation" }, () => {
        ran.push(index);
        return Promise.resolve();
      }),
    );
  }
  await assert.rejects(
    subject.run("observe overflow", { kind: "observation" }, () => Promise.resolve()),
    (error: unknown) =>
      error instanceof ObservationQueueFullError && isVirtError(error, ErrorCode.RESOURCE_BUSY),
  );
  hold.release();
  await Promise.all([hold.done, ...queued]);
  assert.equal(ran.length, OBSERVATION_QUEUE_MAX, "every queued observation ran");
  assert.deepEqual(ran.slice(0, 3), [0, 1, 2], "in arrival order");
  assert.equal(ran.at(-1), OBSERVATION_QUEUE_MAX - 1);
});

Deno.test("DomainActor coalesces a waiting observation with the same key: the latest runs once", async () => {
  const subject = actor();
  const hold = occupy(subject);
  const ran: string[] = [];
  const job = (value: string) => () => {
    ran.push(value);
    return Promise.resolve(value);
  };
  const first = subject.run("balloon", { kind: "observation", coalesceKey: "balloon" }, job("1"));
  const other = subject.run("reset", { kind: "observation" }, job("reset"));
  const second = subject.run("balloon", { kind: "observation", coalesceKey: "balloon" }, job("2"));
  assert.equal(subject.queueLength, 2, "the second balloon took no place of its own");
  hold.release();
  assert.deepEqual(await Promise.all([first, other, second]), ["2", "reset", "2"]);
  assert.deepEqual(ran, ["2", "reset"]);
});

Deno.test("DomainActor never coalesces observations without a key", async () => {
  const subject = actor();
  const hold = occupy(subject);
  const ran: string[] = [];
  const jobs = ["a", "b"].map((value) =>
    subject.run("paused", { kind: "observation" }, () => {
      ran.push(value);
      return Promise.resolve();
    })
  );
  hold.release();
  await Promise.all(jobs);
  assert.deepEqual(ran, ["a", "b"]);
});

Deno.test("DomainActor accepts a recovery job when the observation queue is full, one at a time", async () => {
  const subject = actor();
  const hold = occupy(subject);
  const queued: Promise<unknown>[] = [];
  for (let index = 0; index < OBSERVATION_QUEUE_MAX; index++) {
    queued.push(subject.run("observe", { kind: "observation" }, () => Promise.resolve()));
  }
  let recoveries = 0;
  const recover = () => {
    recoveries++;
    return Promise.resolve("recovered");
  };
  const first = subject.run("resync", { kind: "recovery" }, recover);
  const second = subject.run("resync", { kind: "recovery" }, recover);
  assert.equal(subject.queueLength, OBSERVATION_QUEUE_MAX + 1);
  hold.release();
  assert.deepEqual(await Promise.all([first, second]), ["recovered", "recovered"]);
  assert.equal(recoveries, 1, "the second joined the waiting one");
  await Promise.all(queued);
});

Deno.test("DomainActor refuses a command beyond COMMAND_QUEUE_MAX with code 87", async () => {
  const subject = actor();
  const hold = occupy(subject);
  const queued: Promise<unknown>[] = [];
  for (let index = 1; index < COMMAND_QUEUE_MAX + 1; index++) {
    queued.push(subject.run("command", {}, () => Promise.resolve()));
  }
  await assert.rejects(
    subject.run("one too many", {}, () => Promise.resolve()),
    (error: unknown) => isVirtError(error, ErrorCode.RESOURCE_BUSY),
  );
  hold.release();
  await Promise.all([hold.done, ...queued]);
});

import assert from "node:assert/strict";
import { BodyBudget, budgetedRequest } from "../../../src/api/body_budget.ts";
import { isVirtError } from "../../../src/model/errors.ts";
import { startSocketService } from "../../support/socket_service.ts";

const encoder = new TextEncoder();

Deno.test("BodyBudget grants in arrival order once bytes are given back", async () => {
  const budget = new BodyBudget(100, 1000);
  await budget.take(80);
  const order: string[] = [];
  const first = budget.take(50).then(() => order.push("first"));
  const second = budget.take(10).then(() => order.push("second"));
  await new Promise((resolve) => setTimeout(resolve, 10));
  // The small one waits behind the first, though it would fit: no starving large requests.
  assert.deepEqual(order, []);
  budget.give(80);
  await Promise.all([first, second]);
  assert.deepEqual(order, ["first", "second"]);
  assert.equal(budget.heldBytes, 60);
});

Deno.test("BodyBudget refuses with code 87 when no room is found within the wait", async () => {
  const budget = new BodyBudget(100, 30);
  await budget.take(100);
  await assert.rejects(
    () => budget.take(1),
    (error) => isVirtError(error, 87) && /limit of 100 bytes/.test(error.message),
  );
  await assert.rejects(() => budget.take(101), (error) => isVirtError(error, 87));
  assert.equal(budget.heldBytes, 100);
});

Deno.test("budgetedRequest takes the declared length at the first read and gives it back on release", async () => {
  const budget = new BodyBudget(1000, 1000);
  const { request, release } = budgetedRequest(
    new Request("http://evirt/", {
      method: "POST",
      body: "x".repeat(300),
      headers: { "content-length": "300" },
    }),
    budget,
    800,
  );
  assert.equal(budget.heldBytes, 0);
  assert.equal((await request.text()).length, 300);
  assert.equal(budget.heldBytes, 300);
  release();
  release();
  assert.equal(budget.heldBytes, 0);
});

Deno.test("budgetedRequest takes the largest body for an undeclared length and refuses a body over it", async () => {
  const budget = new BodyBudget(1000, 1000);
  const { request, release } = budgetedRequest(
    new Request("http://evirt/", { method: "POST", body: "x".repeat(900) }),
    budget,
    800,
  );
  await assert.rejects(() => request.text(), (error) => isVirtError(error, 8));
  assert.equal(budget.heldBytes, 800);
  release();
  assert.equal(budget.heldBytes, 0);
});

Deno.test("API holds a define's body until the bodies in progress leave room for it", async () => {
  const r = await startSocketService({ requestBodiesMaxBytes: 100_000 });
  const slow = await Deno.connect({ transport: "unix", path: r.socketPath });
  try {
    const xml = (name: string) =>
      `<domain type='test'><name>${name}</name><memory>65536</memory><vcpu>1</vcpu>` +
      `<os><type>hvm</type></os><devices/></domain>` + " ".repeat(60_000);
    const first = encoder.encode(xml("first"));
    await slow.write(encoder.encode(
      "POST /v1/domains HTTP/1.1\r\nHost: evirt\r\ncontent-type: application/xml\r\n" +
        `content-length: ${first.length}\r\nconnection: close\r\n\r\n`,
    ));
    await slow.write(first.subarray(0, 50_000));
    while (budgetHeld(r) < 50_000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const second = r.client.define({ xml: xml("second") });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(budgetHeld(r) <= 100_000);
    assert.deepEqual((await r.client.listDomains()).map((domain) => domain.name), []);
    await slow.write(first.subarray(50_000));
    const answer = new Uint8Array(4096);
    const count = await slow.read(answer);
    assert.match(new TextDecoder().decode(answer.subarray(0, count!)), /^HTTP\/1\.1 201 /);
    assert.equal((await second).name, "second");
    assert.equal(budgetHeld(r), 0);
  } finally {
    slow.close();
    await r.stop();
  }
});

function budgetHeld(r: { core: { bodies: BodyBudget } }): number {
  return r.core.bodies.heldBytes;
}

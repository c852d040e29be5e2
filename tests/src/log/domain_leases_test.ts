import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { DomainLeases } from "../../../src/log/domain_leases.ts";
import { isVirtError } from "../../../src/model/errors.ts";
import { missing, testIf } from "../../support/environment.ts";
import { startNatsServer } from "../../support/nats_server.ts";

const UUID = "5b0c6f3e-2a4d-4e1b-9c7f-8d6e5a4b3c2d";

/** Runs `body` with one `DomainLeases` per name, each on a connection of its own. */
async function withLeases(
  names: string[],
  body: (leases: DomainLeases[]) => Promise<void>,
): Promise<void> {
  const server = await startNatsServer();
  const connections: NatsConnection[] = [];
  const leases: DomainLeases[] = [];
  try {
    for (const name of names) {
      const connection = await connect({ servers: server.url });
      connections.push(connection);
      leases.push(await DomainLeases.open(connection, name));
    }
    await body(leases);
  } finally {
    for (const each of leases) await each.close();
    for (const connection of connections) await connection.close();
    await server.stop();
  }
}

/** Polls `probe` every 50 ms for at most 5 s. */
async function until(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!probe()) {
    assert.ok(Date.now() < deadline, `never: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const refusedBusy = (error: unknown) => isVirtError(error) && error.code === 87;

testIf(
  "DomainLeases: of concurrent claims exactly one wins; the others are refused with code 87",
  missing("nats-server"),
  async () => {
    await withLeases(["a", "b", "c"], async (hosts) => {
      const results = await Promise.allSettled(hosts.map((host) => host.claim(UUID, "web")));
      const won = results.flatMap((result, index) =>
        result.status === "fulfilled" ? [hosts[index].host] : []
      );
      assert.equal(won.length, 1, JSON.stringify(results));
      for (const result of results) {
        if (result.status === "rejected") {
          assert.ok(refusedBusy(result.reason), String(result.reason));
          assert.match(result.reason.message, new RegExp(`owned by host '${won[0]}'`));
        }
      }
      // The owner claims again: kept. Every table learns the owner.
      const owner = hosts.find((host) => host.host === won[0])!;
      assert.equal((await owner.claim(UUID, "web")).owner, won[0]);
      for (const host of hosts) {
        await until(`${host.host} learns the owner`, () => host.get(UUID)?.owner === won[0]);
        assert.equal(host.byName("web")?.uuid, UUID);
      }
    });
  },
);

testIf(
  "DomainLeases: only the owner updates or releases; a take-over from a stale read is refused",
  missing("nats-server"),
  async () => {
    await withLeases(["a", "b", "c"], async ([a, b, c]) => {
      await a.claim(UUID, "web");
      await assert.rejects(() => b.update(UUID, { active: true }), refusedBusy);
      await b.release(UUID); // Not b's: nothing.
      assert.equal((await a.update(UUID, { active: true })).active, true);
      // b and c both read the lease, then both take it over: the first write wins, the
      // second one's revision is stale.
      await until(
        "b and c read the update",
        () => b.get(UUID)?.active === true && c.get(UUID)?.active === true,
      );
      const readByB = b.get(UUID)!;
      const readByC = c.get(UUID)!;
      assert.equal(readByB.revision, readByC.revision);
      const first = await b.takeOver(readByB);
      assert.equal(first.owner, "b");
      assert.equal(first.pending, true);
      await assert.rejects(() => c.takeOver(readByC), refusedBusy);
      // a's own update, from before the take-over, is refused now.
      await assert.rejects(() => a.update(UUID, { active: false }), refusedBusy);
      await b.release(UUID);
      await until("a sees the release", () => a.get(UUID) === undefined);
      // Released: a new claim may take it.
      assert.equal((await c.claim(UUID, "web")).owner, "c");
    });
  },
);

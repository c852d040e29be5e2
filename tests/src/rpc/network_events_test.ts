import assert from "node:assert/strict";
import type { AppliedNetworkFact } from "../../../actors/networks.ts";
import type { NetworkFact } from "../../../src/model/network_facts.ts";
import { networkEventsOf } from "../../../src/rpc/network_events.ts";
import { parseNetworkXml } from "../../../src/xml/parse_network.ts";

const UUID = "81ff0d90-c91e-6742-64da-4a736edb9a9b";

function applied(fact: NetworkFact, position: number): AppliedNetworkFact {
  return { fact, position, uuid: UUID, name: "n" };
}

Deno.test("networkEventsOf() reports net-create's start, not its transient definition", () => {
  const definition = parseNetworkXml(`<network><name>n</name><uuid>${UUID}</uuid></network>`);
  const created: AppliedNetworkFact[] = [
    applied(
      { type: "network.defined", body: { definition, detail: "added", persistent: false } },
      1,
    ),
    applied({ type: "network.starting", body: { bridge: "virbr1" } }, 2),
    applied({ type: "network.started", body: { dnsmasq: { pid: 9, startTimeTicks: 1 } } }, 3),
    applied({ type: "network.stopping", body: { bridge: "virbr1" } }, 4),
    applied({ type: "network.stopped", body: {} }, 5),
  ];
  assert.equal(networkEventsOf(created).length, 2, "started and stopped");
  const defined = applied({
    type: "network.defined",
    body: { definition, detail: "added", persistent: true },
  }, 1);
  assert.equal(networkEventsOf([defined]).length, 1);
});

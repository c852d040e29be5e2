import assert from "node:assert/strict";
import { routeCollision } from "../../../src/model/network_route_collision.ts";

const TABLE =
  "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
  "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
  "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" +
  "virbr7\t0000FB0A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";

Deno.test("routeCollision finds the interface whose route is one of the network's subnets", () => {
  assert.equal(routeCollision({ ips: [{ address: "192.0.2.1", prefix: 24 }] }, TABLE), "eth0");
  assert.equal(
    routeCollision({ ips: [{ address: "10.251.3.1", netmask: "255.255.0.0" }] }, TABLE),
    "virbr7",
  );
});

Deno.test("routeCollision ignores other masks, the default route, IPv6 and a bad table", () => {
  assert.equal(routeCollision({ ips: [{ address: "192.0.2.1", prefix: 25 }] }, TABLE), undefined);
  assert.equal(routeCollision({ ips: [{ address: "10.251.3.1", prefix: 24 }] }, TABLE), undefined);
  assert.equal(routeCollision({ ips: [] }, TABLE), undefined);
  assert.equal(
    routeCollision({ ips: [{ family: "ipv6", address: "fd00::1", prefix: 64 }] }, TABLE),
    undefined,
  );
  assert.equal(
    routeCollision({ ips: [{ address: "192.0.2.1", prefix: 24 }] }, "x\ny z\n"),
    undefined,
  );
});

import assert from "node:assert/strict";
import {
  checkRouteCollision,
  parseProcNetRoute,
} from "../../../drivers/network/route_collision.ts";
import { isVirtError } from "../../../src/model/errors.ts";
import { parseNetworkXml } from "../../../src/xml/parse_network.ts";

const TABLE = [
  "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
  "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0",
  "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",
  "virbr9\t0000A8C0\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0",
  "garbage line",
  "",
].join("\n");

function network(body: string) {
  return parseNetworkXml(
    `<network><name>n</name><uuid>81ff0d90-c91e-6742-64da-4a736edb9a9b</uuid>${body}</network>`,
  );
}

Deno.test("parseProcNetRoute() reads destinations and masks in address order", () => {
  assert.deepEqual(parseProcNetRoute(TABLE), [
    { iface: "eth0", destination: 0n, mask: 0n },
    { iface: "eth0", destination: 0xc0000200n, mask: 0xffffff00n },
    { iface: "virbr9", destination: 0xc0a80000n, mask: 0xffff0000n },
  ]);
  assert.deepEqual(parseProcNetRoute("not a table"), []);
});

Deno.test("checkRouteCollision() refuses a network the host already routes", () => {
  assert.throws(
    () =>
      checkRouteCollision(
        network("<ip address='192.0.2.1' prefix='24'/>"),
        parseProcNetRoute(TABLE),
      ),
    (error: unknown) =>
      isVirtError(error, 1) && error.message === "Network is already in use by interface eth0",
  );
});

Deno.test("checkRouteCollision() refuses a static route the host already routes", () => {
  assert.throws(
    () =>
      checkRouteCollision(
        network(
          "<forward mode='route'/><ip address='10.0.0.1' prefix='24'/>" +
            "<route address='192.168.0.0' prefix='16' gateway='10.0.0.2'/>",
        ),
        parseProcNetRoute(TABLE),
      ),
    (error: unknown) =>
      isVirtError(error, 1) &&
      error.message === "Route address '192.168.0.0' conflicts with IP address for 'virbr9'",
  );
});

Deno.test("checkRouteCollision() lets a network with another mask or address start", () => {
  const routes = parseProcNetRoute(TABLE);
  checkRouteCollision(network("<ip address='192.0.2.1' prefix='25'/>"), routes);
  checkRouteCollision(network("<ip address='192.168.1.1' prefix='24'/>"), routes);
  checkRouteCollision(network("<ip family='ipv6' address='fd00::1' prefix='64'/>"), routes);
});

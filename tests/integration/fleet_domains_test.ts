/**
 * The fleet's domains on one NATS server shared by two or three real services: each domain is
 * owned by exactly one host (its lease), any host answers for any domain (requests forwarded to
 * the owner), a host refuses commands on a domain another host owns, a lost host's shut-off
 * domains are taken over by exactly one other host, and `migrate --offline` moves a shut-off
 * domain's ownership and definition.
 *
 * @module
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { missing, testIf } from "../support/environment.ts";
import { runEvirt } from "../support/cli_process.ts";
import { unixHttpRequest } from "../../src/client/unix_http.ts";
import type { ServiceProcess } from "../support/service_process.ts";
import { eventually, withFleet } from "../support/fleet_services.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { LEASES_BUCKET } from "../../src/log/domain_leases.ts";
import { FORWARDED_HEADER } from "../../src/api/api_context.ts";

const XML = (name: string, uuid?: string) =>
  `<domain type='test'><name>${name}</name>${uuid === undefined ? "" : `<uuid>${uuid}</uuid>`}` +
  `<memory unit='MiB'>256</memory><vcpu>1</vcpu><os><type>hvm</type></os><devices/></domain>`;

/** An error answer's body. */
type ErrorBody = { error: { code: number; message: string } };

/** `name@host` for every domain of the fleet, as `service` lists them. */
async function fleetView(service: ServiceProcess): Promise<string[]> {
  return (await service.client.fleetDomains()).domains.map((domain) =>
    `${domain.name}@${domain.host}${domain.pending ? " (pending)" : ""}`
  );
}

/** The names of the domains in `service`'s own log. */
async function localNames(service: ServiceProcess): Promise<string[]> {
  return (await service.client.listDomains()).map((domain) => domain.name).sort();
}

testIf(
  "fleet: one owner per domain, any host answers for it, a concurrent claim is refused with 87",
  missing("nats-server"),
  async () => {
    await withFleet(["east", "west"], async ([east, west]) => {
      await east.client.define({ xml: XML("web") });
      // West does not have it in its log, but sees who owns it and acts through east.
      assert.deepEqual(await localNames(west), []);
      await eventually(
        "west sees web on east",
        async () => (await fleetView(west)).join() === "web@east",
      );
      await west.client.action("web", "start");
      assert.equal((await east.client.state("web")).stateName, "running");
      assert.equal((await west.client.state("web")).stateName, "running");
      const info = await west.client.info("web");
      assert.equal(info.name, "web");
      // The CLI on west too.
      const run = await runEvirt(["domstate", "web"], west.env);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /running/);
      const listed = await runEvirt(["host", "domains"], west.env);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /\n web +east +active/);
      // The same uuid defined on both at once: exactly one host owns it.
      const uuid = "9f0e7b62-3c1d-4b8a-9e5f-0a1b2c3d4e5f";
      const results = await Promise.allSettled([
        east.client.define({ xml: XML("twin", uuid) }),
        west.client.define({ xml: XML("twin", uuid) }),
      ]);
      const refused = results.filter((result) => result.status === "rejected");
      assert.equal(refused.length, 1, JSON.stringify(results));
      const reason = (refused[0] as PromiseRejectedResult).reason;
      assert.ok(isVirtError(reason) && reason.code === 87, String(reason));
      assert.match(reason.message, /is owned by host '(east|west)'/);
      const owner = results[0].status === "fulfilled" ? "east" : "west";
      await eventually(
        "both see twin's one owner",
        async () =>
          (await fleetView(east)).includes(`twin@${owner}`) &&
          (await fleetView(west)).includes(`twin@${owner}`),
      );
      // A stranger's socket never forwards twice: a request already forwarded, on the host
      // that does not own the domain, is answered there (it has no such domain).
      const other = owner === "east" ? west : east;
      const direct = await unixHttpRequest(`${other.runtimeDir}/evirt.sock`, {
        method: "GET",
        target: "/v1/domains/twin/state",
        headers: { [FORWARDED_HEADER]: "someone" },
      });
      assert.equal(direct.status, 404);
      assert.equal((await direct.json() as ErrorBody).error.code, 42);
    });
  },
);

testIf(
  "fleet: a host refuses (code 87) commands on an active domain whose lease another host holds",
  missing("nats-server"),
  async () => {
    await withFleet(["east"], async ([east], _restart, url) => {
      await east.client.define({ xml: XML("web") });
      await east.client.action("web", "start");
      const uuid = (await east.client.info("web")).uuid;
      // Another host takes the lease behind east's back (as a stale or rogue writer would).
      const connection = await connect({ servers: url });
      try {
        const bucket = await new Kvm(connection).open(LEASES_BUCKET);
        const entry = await bucket.get(uuid);
        assert.ok(entry !== null);
        const record = entry.json<Record<string, unknown>>();
        assert.equal(record.owner, "east");
        await bucket.update(uuid, JSON.stringify({ ...record, owner: "north" }), entry.revision);
      } finally {
        await connection.close();
      }
      await eventually(
        "east logs the conflict",
        () => Promise.resolve(/'web' is active here but owned by host 'north'/.test(east.log())),
      );
      const refused = await unixHttpRequest(`${east.runtimeDir}/evirt.sock`, {
        method: "POST",
        target: "/v1/domains/web/actions/suspend",
        headers: { [FORWARDED_HEADER]: "north" },
      });
      const body = await refused.json() as ErrorBody;
      assert.equal(body.error.code, 87, JSON.stringify(body));
      assert.match(body.error.message, /owned by host 'north'/);
      // Reads are still answered by the host that runs it.
      const state = await unixHttpRequest(`${east.runtimeDir}/evirt.sock`, {
        method: "GET",
        target: "/v1/domains/web/state",
        headers: { [FORWARDED_HEADER]: "north" },
      });
      assert.equal((await state.json() as { stateName: string }).stateName, "running");
      // Without the header, east forwards to north, which does not answer.
      await assert.rejects(
        () => east.client.action("web", "suspend"),
        (error) => isVirtError(error) && error.code === 38 && /host 'north'/.test(error.message),
      );
    });
  },
);

testIf(
  "fleet: a lost host's shut-off domain is taken over by exactly one of the others; it drops its copy on return",
  missing("nats-server"),
  async () => {
    await withFleet(["east", "west", "south"], async ([east, west, south], restart) => {
      await east.client.define({ xml: XML("cold") });
      await east.client.define({ xml: XML("hot") });
      await east.client.action("hot", "start");
      await eventually(
        "cold's lease is east's",
        async () => (await fleetView(west)).join() === "cold@east,hot@east",
      );
      await east.stop("SIGKILL");
      await eventually("cold is taken over", async () => {
        const view = await fleetView(west);
        return view.includes("cold@west") || view.includes("cold@south");
      });
      const taker = (await fleetView(west)).includes("cold@west") ? west : south;
      const bystander = taker === west ? south : west;
      await eventually(
        "the taker defined cold",
        async () => (await localNames(taker)).includes("cold"),
      );
      assert.deepEqual(await localNames(bystander), []);
      // The active one stays east's: its guest may still run there.
      assert.ok((await fleetView(west)).includes("hot@east"));
      assert.ok(/taken over from lost host 'east'/.test(taker.log()));
      const back = await restart(0);
      await eventually(
        "east drops its copy of cold",
        async () => (await localNames(back)).join() === "hot",
      );
      assert.equal((await back.client.state("hot")).stateName, "running");
      // East reaches cold through its new owner.
      assert.equal((await back.client.state("cold")).stateName, "shut off");
    });
  },
);

testIf(
  "fleet: migrate --offline moves a shut-off domain's definition and ownership; an active one is refused",
  missing("nats-server"),
  async () => {
    await withFleet(["east", "west"], async ([east, west]) => {
      await east.client.define({ xml: XML("mover") });
      await east.client.define({ xml: XML("busy") });
      await east.client.action("busy", "start");
      await eventually(
        "west sees them",
        async () => (await fleetView(west)).join() === "busy@east,mover@east",
      );
      // Asked on west, forwarded to east, which owns it.
      const moved = await west.client.migrateOffline("mover", "west");
      assert.equal(moved.host, "west");
      await eventually(
        "west defined mover",
        async () =>
          (await localNames(west)).includes("mover") &&
          (await fleetView(east)).includes("mover@west"),
      );
      assert.deepEqual(await localNames(east), ["busy"]);
      await west.client.action("mover", "start");
      assert.equal((await east.client.state("mover")).stateName, "running");
      await assert.rejects(
        () => east.client.migrateOffline("busy", "west"),
        (error) => isVirtError(error) && error.code === 55 && /is active/.test(error.message),
      );
      await assert.rejects(
        () => east.client.migrateOffline("busy", "nowhere"),
        (error) => isVirtError(error) && error.code === 55,
      );
      const cli = await runEvirt(["migrate", "--offline", "mover", "east"], east.env);
      assert.equal(cli.code, 1);
      assert.match(cli.stderr, /is active/);
      // The fleet's events, read on either host, tell the move: east undefined it, west
      // defined it, then west started it.
      const events = await runEvirt(
        ["event", "--fleet", "--all", "--loop", "--since", "0", "--timeout", "5"],
        east.env,
      );
      assert.equal(events.code, 0, events.stderr);
      const lines = events.stdout.split("\n").filter((line) => line.includes("'mover'"));
      assert.deepEqual(lines, [
        "east: event 'lifecycle' for domain 'mover': Defined Added",
        "east: event 'lifecycle' for domain 'mover': Undefined Removed",
        "west: event 'lifecycle' for domain 'mover': Defined Added",
        "west: event 'lifecycle' for domain 'mover': Started Booted",
      ], events.stdout);
      assert.match(events.stdout, /\nevents received: 6\n/);
    });
  },
);

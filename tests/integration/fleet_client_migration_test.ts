/**
 * Client-driven live migration between two real services of one fleet: virsh's default form
 * (`virsh migrate --live DOM qemu+unix:///system?socket=…`, no `--p2p`), where the client holds
 * a connection to each host and calls Begin3, Prepare3, Perform3, Finish3 and Confirm3 with
 * parameters itself. The counting test guest moves east → west and counts on; the destination
 * keeps the completed migration's figures (`domjobinfo --completed`); a client that dies at any
 * step leaves the guest on exactly one host, as the lease says.
 *
 * @module
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import { guestSkipReason } from "../support/guest.ts";
import { eventually } from "../support/fleet_services.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";
import { RpcReplyError, RpcTestClient } from "../support/rpc_client.ts";
import type { ServiceProcess } from "../support/service_process.ts";
import { TypedParam, type WireDomain } from "../../src/rpc/protocol.ts";
import {
  counts,
  migrationInFlight,
  qemuPids,
  runsOnlyOn,
  sawMigratedEvents,
  SLOW_MIB,
  startCounting,
  startMoverOnEast,
  stayedOnEast,
  withMoverFleet,
} from "./_fleet_migration_guest.ts";

const skip = guestSkipReason() ?? missing("qemu-system-x86_64") ?? missing("nats-server") ??
  missing("virsh");

/** `VIR_MIGRATE_LIVE`. */
const LIVE = 1;

function libvirtSocket(service: ServiceProcess): string {
  return `${service.runtimeDir}/libvirt-sock`;
}

/** The guest runs on west only: it counts on there, east has no copy nor a second QEMU. */
function movedToWest(
  east: ServiceProcess,
  west: ServiceProcess,
  serial: string,
  uuid: string,
): Promise<void> {
  return runsOnlyOn(west, east, "west", serial, uuid);
}

/** A test client opened on `service`'s libvirt socket. */
async function openClient(service: ServiceProcess): Promise<RpcTestClient> {
  const client = await RpcTestClient.connect(libvirtSocket(service));
  await client.call("virConnectOpen", { name: "qemu:///system", flags: 0 });
  return client;
}

testIf(
  "fleet: virsh migrate --live without --p2p moves a counting guest east → west; domjobinfo --completed after",
  skip,
  async () => {
    await withMoverFleet("evirt-client-migration-", async (fleet) => {
      const [east, west] = fleet.services;
      const { definition, serial } = fleet;
      const { eastEvents, westEvents, before } = await startCounting(fleet);

      const run = await runVirsh(socketUri(libvirtSocket(east)), [
        "migrate",
        "--live",
        "mover",
        socketUri(libvirtSocket(west)),
      ]);
      assert.equal(run.code, 0, run.stderr);
      await movedToWest(east, west, serial, definition.uuid!);
      assert.ok((counts(serial).at(-1) ?? 0) >= before + 5);
      await sawMigratedEvents(eastEvents, westEvents);

      // The completed migration's figures, as libvirt's destination keeps them: asked on
      // east (answered by west, the owner now) and kept; then on west, which forgets them.
      const kept = await runVirsh(socketUri(libvirtSocket(east)), [
        "domjobinfo",
        "mover",
        "--completed",
        "--keep-completed",
      ]);
      assert.equal(kept.code, 0, kept.stderr);
      const labels = kept.stdout.split("\n").filter((line) => line !== "").map((line) =>
        line.slice(0, line.indexOf(":") + 1)
      );
      // virsh 9.0's lines for a completed migration's statistics, in its order.
      assert.deepEqual(labels, [
        "Job type:",
        "Operation:",
        "Time elapsed:",
        "Data processed:",
        "Data remaining:",
        "Data total:",
        "Memory processed:",
        "Memory remaining:",
        "Memory total:",
        "Memory bandwidth:",
        "Dirty rate:",
        "Page size:",
        "Iteration:",
        "Postcopy requests:",
        "Constant pages:",
        "Normal pages:",
        "Normal data:",
        "Total downtime:",
        "Setup time:",
      ]);
      assert.match(kept.stdout, /^Job type: +Completed +\nOperation: +Incoming migration *\n/);
      assert.match(kept.stdout, /\nData remaining: +0\.000 B\n/);
      assert.match(kept.stdout, /\nMemory total: +12\d\.\d{3} MiB\n/);
      assert.match(kept.stdout, /\nTotal downtime: +\d+ +ms\n/);
      const read = await runVirsh(socketUri(libvirtSocket(west)), [
        "domjobinfo",
        "mover",
        "--completed",
      ]);
      assert.equal(read.code, 0, read.stderr);
      assert.equal(read.stdout, kept.stdout);
      const after = await runVirsh(socketUri(libvirtSocket(west)), [
        "domjobinfo",
        "mover",
        "--completed",
      ]);
      assert.equal(after.stdout, "Job type:         None        \n\n");
      await west.client.action("mover", "destroy");
    });
  },
);

testIf(
  "fleet: virsh (no --p2p) killed while the stream is sent: the migration is cancelled, the guest runs on east only",
  skip,
  async () => {
    let virsh: Deno.ChildProcess | undefined;
    try {
      await withMoverFleet("evirt-client-migration-", async (fleet) => {
        const [east, west] = fleet.services;
        const { definition, serial } = fleet;
        await startMoverOnEast(fleet);
        await east.client.setMigrateLimits("mover", { bandwidth: SLOW_MIB });
        virsh = new Deno.Command("virsh", {
          args: [
            "-c",
            socketUri(libvirtSocket(east)),
            "migrate",
            "--live",
            "mover",
            socketUri(libvirtSocket(west)),
          ],
          env: { LIBVIRT_DEFAULT_URI: "", VIRSH_DEFAULT_CONNECT_URI: "" },
          stdout: "null",
          stderr: "null",
        }).spawn();
        const exited = virsh.status;
        await migrationInFlight(east);
        virsh.kill("SIGKILL");
        await exited;
        virsh = undefined;
        await stayedOnEast(east, west, serial, definition.uuid!);
        assert.match(east.log(), /its migration's client left while it was sent; cancelled/);
        await east.client.action("mover", "destroy");
      });
    } finally {
      try {
        virsh?.kill("SIGKILL");
        await virsh?.status;
      } catch {
        // Already gone.
      }
    }
  },
);

for (const gone of ["after Perform", "after Finish"] as const) {
  testIf(
    `fleet: a client-driven migration's client gone ${gone}: the lease decides, the guest runs on ${
      gone === "after Perform" ? "east" : "west"
    } only`,
    skip,
    async () => {
      const clients: RpcTestClient[] = [];
      try {
        await withMoverFleet("evirt-client-migration-", async (fleet) => {
          const [east, west] = fleet.services;
          const { definition, serial } = fleet;
          await startMoverOnEast(fleet);
          const source = await openClient(east);
          clients.push(source);
          const destination = await openClient(west);
          clients.push(destination);
          // A cookie that is not Begin's is refused: nothing is prepared.
          const refused = await destination.call("virDomainMigratePrepare3Params", {
            params: [],
            cookie_in: new TextEncoder().encode("<qemu-migration/>"),
            flags: LIVE,
          }).catch((error) => error);
          assert.ok(refused instanceof RpcReplyError && refused.code === 8, String(refused));
          assert.match(refused.message, /cookie/);
          assert.equal(qemuPids(definition.uuid!).length, 1);
          // The steps libvirt's client takes (virDomainMigrateVersion3Full), by hand.
          const { dom } = await source.call("virDomainLookupByName", { name: "mover" }) as {
            dom: WireDomain;
          };
          const begun = await source.call("virDomainMigrateBegin3Params", {
            dom,
            params: [],
            flags: LIVE,
          }) as { cookie_out: Uint8Array; xml: string };
          const prepared = await destination.call("virDomainMigratePrepare3Params", {
            params: [{
              field: "destination_xml",
              value: { type: TypedParam.STRING, value: begun.xml },
            }],
            cookie_in: begun.cookie_out,
            flags: LIVE,
          }) as { cookie_out: Uint8Array; uri_out: string | null };
          assert.match(prepared.uri_out ?? "", /^tcp:127\.0\.0\.1:\d+$/);
          // Prepared: west defined the domain and its instance waits for the stream beside east's.
          assert.equal(qemuPids(definition.uuid!).length, 2);
          assert.ok((await west.client.listDomains()).some((domain) => domain.name === "mover"));
          const performed = await source.call("virDomainMigratePerform3Params", {
            dom,
            dconnuri: null,
            params: [{
              field: "migrate_uri",
              value: { type: TypedParam.STRING, value: prepared.uri_out },
            }],
            cookie_in: prepared.cookie_out,
            flags: LIVE,
          }) as { cookie_out: Uint8Array };
          assert.equal((await east.client.state("mover")).stateName, "paused");
          if (gone === "after Finish") {
            await destination.call("virDomainMigrateFinish3Params", {
              params: [{
                field: "destination_name",
                value: { type: TypedParam.STRING, value: "mover" },
              }],
              cookie_in: performed.cookie_out,
              flags: LIVE,
              cancelled: 0,
            });
          }
          // The client dies here: no Finish (or no Confirm).
          await source.close();
          await destination.close();
          await eventually(
            "east settled by the lease",
            () =>
              Promise.resolve(
                /its migration's client left before confirming it; settled by the lease/.test(
                  east.log(),
                ),
              ),
          );
          const host = gone === "after Perform" ? east : west;
          await eventually(
            "the guest runs",
            async () => (await host.client.state("mover")).stateName === "running",
          );
          if (gone === "after Perform") {
            await stayedOnEast(east, west, serial, definition.uuid!);
          } else {
            await movedToWest(east, west, serial, definition.uuid!);
          }
          await (gone === "after Perform" ? east : west).client.action("mover", "destroy");
        });
      } finally {
        for (const client of clients) await client.close();
      }
    },
  );
}

/**
 * Live migration between two real services of one fleet (one NATS server the test starts): the
 * test guest counts on its serial console (`evirt.count=1`, into a file both QEMUs append to:
 * the disk-less guest shares nothing else), moves from east to west while counting, and counts
 * on from where it was. Each host tells libvirt's events of its side, the lease names west, and
 * east no longer has the domain.
 *
 * @module
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import { guestSkipReason } from "../support/guest.ts";
import { eventually } from "../support/fleet_services.ts";
import { runEvirt } from "../support/cli_process.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";
import { formatDomainXml } from "../../src/xml/mod.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { SaveClient } from "../../src/client/save_client.ts";
import {
  collectLifecycle,
  countReaches,
  counts,
  migrationInFlight,
  sawMigratedEvents,
  SLOW_MIB,
  startCounting,
  startMoverOnEast,
  stayedOnEast,
  withMoverFleet,
  withoutMover,
} from "./_fleet_migration_guest.ts";

testIf(
  "fleet: a counting guest is live-migrated east → west and counts on; libvirt's events on both sides",
  guestSkipReason() ?? missing("qemu-system-x86_64") ?? missing("nats-server"),
  async () => {
    await withMoverFleet("evirt-live-migration-", async (fleet) => {
      const [east, west] = fleet.services;
      const { serial } = fleet;
      const { eastEvents, westEvents, before } = await startCounting(fleet);

      let run = await runEvirt(["migrate", "--live", "mover", "west", "--json"], east.env);
      assert.equal(run.code, 0, run.stderr);
      const moved = JSON.parse(run.stdout);
      assert.equal(moved.host, "west");
      assert.ok(moved.totalTimeMs > 0, run.stdout);
      assert.ok(typeof moved.downtimeMs === "number", run.stdout);

      // The guest counts on west from where it was: never from 1 again, no step back.
      const after = await countReaches(serial, before + 10);
      const seen = counts(serial);
      assert.equal(seen.filter((count) => count === 1).length, 1, `one boot: ${seen}`);
      for (let index = 1; index < seen.length; index++) {
        assert.ok(seen[index] > seen[index - 1], `counts in order: ${seen.join(" ")}`);
      }
      assert.ok(after >= before + 10);

      assert.equal((await west.client.state("mover")).stateName, "running");
      await withoutMover(east, "east no longer has mover");
      await eventually(
        "the lease names west",
        async () =>
          (await east.client.fleetDomains()).domains.some((domain) =>
            domain.name === "mover" && domain.host === "west" && domain.active
          ),
      );
      // East answers for it through west.
      assert.equal((await east.client.state("mover")).stateName, "running");
      await sawMigratedEvents(eastEvents, westEvents);

      // West keeps the completed migration's figures (east's final ones) for --completed.
      run = await runEvirt(["domjobinfo", "mover", "--completed"], west.env);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^Job type: +Completed +\nOperation: +Incoming migration *\n/);
      assert.match(run.stdout, /\nTotal downtime: +\d+ +ms\n/);

      // A live migration to an unknown host is refused: nothing moves.
      const refused = await west.client.migrateLive("mover", "nowhere").catch((error) => error);
      assert.ok(isVirtError(refused) && refused.code === 55, String(refused));
      assert.equal((await west.client.state("mover")).stateName, "running");

      // And back with libvirt's own client: `virsh migrate --live --p2p` on west's socket.
      if (missing("virsh") === undefined) {
        const back = await runVirsh(socketUri(`${west.runtimeDir}/libvirt-sock`), [
          "migrate",
          "--live",
          "--p2p",
          "mover",
          "qemu+ssh://east/system",
        ]);
        assert.equal(back.code, 0, back.stderr);
        assert.equal((await east.client.state("mover")).stateName, "running");
        await countReaches(serial, after + 10);
        assert.equal(counts(serial).filter((count) => count === 1).length, 1);
        await withoutMover(west, "west no longer has mover");
      }
      await east.client.action("mover", "destroy");
    });
  },
);

testIf(
  "fleet: domjobinfo follows a live migration, migrate-setspeed slows it, domjobabort cancels it: the guest stays",
  guestSkipReason() ?? missing("qemu-system-x86_64") ?? missing("nats-server"),
  async () => {
    await withMoverFleet("evirt-live-migration-", async (fleet) => {
      const [east, west] = fleet.services;
      const { definition, serial } = fleet;
      await east.client.define({ xml: formatDomainXml(definition) });
      const westEvents = collectLifecycle(west, "mover", fleet.signal);
      await east.client.action("mover", "start");
      await countReaches(serial, 5);
      // libvirt's defaults: no bandwidth limit; QEMU's 300 ms downtime.
      let run = await runEvirt(["migrate-getspeed", "mover"], east.env);
      assert.equal(run.stdout, "8796093022207\n\n", run.stderr);
      run = await runEvirt(["migrate-getmaxdowntime", "mover"], west.env);
      assert.equal(run.stdout, "300\n\n", run.stderr);
      assert.equal(
        (await runEvirt(["domjobinfo", "mover"], east.env)).stdout,
        "Job type:         None        \n\n",
      );
      run = await runEvirt(["migrate-setspeed", "mover", `${SLOW_MIB}`], east.env);
      assert.equal(run.code, 0, run.stderr);
      run = await runEvirt(["migrate-setmaxdowntime", "mover", "50"], east.env);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(await east.client.migrateLimits("mover"), {
        bandwidth: SLOW_MIB,
        maxDowntime: 50,
      });
      const moving = east.client.migrateLive("mover", "west").then(
        () => undefined,
        (error) => error,
      );
      await migrationInFlight(east);
      // Asked through west, answered by east (the owner).
      run = await runEvirt(["domjobinfo", "mover"], west.env);
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stdout,
        /^Job type: +Unbounded +\nOperation: +Outgoing migration *\nTime elapsed: +\d+ +ms\n/,
      );
      assert.match(run.stdout, /\nMemory processed: +[\d.]+ [KMG]?i?B\n/);
      assert.match(run.stdout, /\nMemory total: +12\d\.\d{3} MiB\n/);
      run = await runEvirt(["domjobabort", "mover"], east.env);
      assert.equal(run.code, 0, run.stderr);
      const failure = await moving;
      assert.ok(isVirtError(failure) && failure.code === 78, String(failure));
      await stayedOnEast(east, west, serial, definition.uuid!);
      const view = await new SaveClient(east.client).jobInfo("mover");
      assert.equal(view.type, 0);
      await eventually(
        "west's events",
        () => Promise.resolve(westEvents.includes("Stopped/Failed")),
      );
      assert.deepEqual(
        westEvents.filter((event) =>
          !event.startsWith("Defined/") && !event.startsWith("Undefined/")
        ),
        ["Started/Migrated", "Stopped/Failed"],
      );
      await east.client.action("mover", "destroy");
    });
  },
);

for (const crashed of ["source", "destination"] as const) {
  testIf(
    `fleet: the ${crashed}'s service killed mid-migration and restarted: the guest runs on the source only`,
    guestSkipReason() ?? missing("qemu-system-x86_64") ?? missing("nats-server"),
    async () => {
      await withMoverFleet("evirt-live-migration-", async (fleet) => {
        const { services, restart, definition, serial } = fleet;
        const [east] = services;
        await startMoverOnEast(fleet);
        await east.client.setMigrateLimits("mover", { bandwidth: SLOW_MIB });
        const moving = east.client.migrateLive("mover", "west").then(
          () => undefined,
          (error) => error,
        );
        await migrationInFlight(east);
        const index = crashed === "source" ? 0 : 1;
        await services[index].stop("SIGKILL");
        if (crashed === "destination") {
          // The source cancels (its destination is gone): the guest runs on at east.
          await new SaveClient(east.client).abortJob("mover");
        }
        const failure = await moving;
        assert.ok(failure !== undefined, "the migration did not complete");
        const restarted = await restart(index);
        await stayedOnEast(services[0], services[1], serial, definition.uuid!);
        // The restarted service settled the migration its log had pending, by the lease.
        assert.match(
          restarted.log(),
          crashed === "source"
            ? /its migration to 'west' was not committed: the guest runs on here/
            : /its migration from 'east' was not committed: its instance here is ended/,
        );
        await services[0].client.action("mover", "destroy");
      });
    },
  );
}

/**
 * The libvirt protocol in a fleet, through the real `virsh`: two real services on one NATS
 * server the test starts; calls on host west's socket naming a domain host east owns are carried
 * out on east (`src/rpc/fleet_calls.ts`), lists show each host's own domains as libvirt's
 * per-host connection does, and a name another host's domain has is refused at define (code 9).
 *
 * @module
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import { eventually, withFleet } from "../support/fleet_services.ts";
import { assertSameOutput, followVirsh, runVirsh, socketUri } from "../support/virsh.ts";
import type { ServiceProcess } from "../support/service_process.ts";
import { withTempDir } from "../support/temp_dir.ts";

const UUID = "4d7f3a52-8b1e-4c6d-9a2f-1e0b3c5d7a90";
const XML = (name: string, uuid: string) =>
  `<domain type='test'><name>${name}</name><uuid>${uuid}</uuid>` +
  `<memory unit='MiB'>256</memory><vcpu>1</vcpu><os><type>hvm</type></os><devices/></domain>`;

/** virsh on `service`'s read-write libvirt socket (`-r`: asking for read-only access). */
async function virsh(service: ServiceProcess, ...args: string[]) {
  return await runVirsh(socketUri(`${service.runtimeDir}/libvirt-sock`), args);
}

/** virsh's output, asserting it succeeded. */
async function virshOk(service: ServiceProcess, ...args: string[]): Promise<string> {
  const run = await virsh(service, ...args);
  assert.equal(run.code, 0, `virsh ${args.join(" ")}: ${run.stderr}`);
  return run.stdout;
}

testIf(
  "fleet rpc: virsh on one host reads and drives a domain another host owns",
  missing("nats-server", "virsh"),
  async () => {
    await withFleet(["east", "west"], async ([east, west]) => {
      await east.client.define({ xml: XML("web", UUID) });
      await eventually(
        "west sees web on east",
        async () =>
          (await west.client.fleetDomains()).domains.some((domain) => domain.name === "web"),
      );
      // West's own log has no such domain: what west answers comes from east.
      assert.deepEqual(await west.client.listDomains(), []);
      // Reads on west answer east's, by name and by uuid.
      assert.equal((await virshOk(west, "domstate", "web")).trim(), "shut off");
      assert.equal((await virshOk(west, "domuuid", "web")).trim(), UUID);
      assert.equal((await virshOk(west, "domname", UUID)).trim(), "web");
      assert.equal(await virshOk(west, "dumpxml", "web"), await virshOk(east, "dumpxml", "web"));
      // Commands on west run on east.
      await virshOk(west, "start", "web");
      assert.equal((await east.client.state("web")).stateName, "running");
      assert.equal((await virshOk(west, "domstate", "--reason", "web")).trim(), "running (booted)");
      assertSameOutput(
        await virshOk(west, "dominfo", "web"),
        await virshOk(east, "dominfo", "web"),
        "dominfo",
      );
      // A read-only connection stays read-only on the owner.
      const readOnly = await runVirsh(socketUri(`${west.runtimeDir}/libvirt-sock`), [
        "-r",
        "destroy",
        "web",
      ]);
      assert.notEqual(readOnly.code, 0);
      assert.match(readOnly.stderr, /read only access prevents virDomainDestroy/);
      await virshOk(west, "destroy", "web");
      assert.equal((await east.client.state("web")).stateName, "shut off");
      // The owner's errors come back as they are (code and message).
      const again = await virsh(west, "destroy", "web");
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, /Requested operation is not valid: domain is not running/);
      assert.equal(again.stderr, (await virsh(east, "destroy", "web")).stderr);
      // Snapshots of east's domain, through west (calls naming a snapshot's domain).
      await virshOk(west, "snapshot-create-as", "web", "first");
      assert.equal((await virshOk(west, "snapshot-list", "web", "--name")).trim(), "first");
      assert.equal((await virshOk(east, "snapshot-list", "web", "--name")).trim(), "first");
      await virshOk(west, "snapshot-delete", "web", "first");
      assert.equal((await virshOk(east, "snapshot-list", "web", "--name")).trim(), "");
      // Lists are each host's own, as libvirt's per-host connection lists them.
      assert.doesNotMatch(await virshOk(west, "list", "--all", "--name"), /web/);
      assert.match(await virshOk(east, "list", "--all", "--name"), /^web$/m);
      // A domain nobody owns is unknown, as before.
      const none = await virsh(west, "domstate", "nowhere");
      assert.match(none.stderr, /failed to get domain 'nowhere'/);
    });
  },
);

testIf(
  "fleet rpc: a define of a name another host's domain has is refused with code 9",
  missing("nats-server", "virsh"),
  async () => {
    await withFleet(["east", "west"], async ([east, west]) => {
      await east.client.define({ xml: XML("web", UUID) });
      await eventually(
        "west sees web on east",
        async () =>
          (await west.client.fleetDomains()).domains.some((domain) => domain.name === "web"),
      );
      await withTempDir("evirt-fleet-rpc-", async (dir) => {
        const path = `${dir}/web.xml`;
        await Deno.writeTextFile(path, XML("web", "0b9e2d41-6c3a-4f58-8e7d-2a1c4b6d8f03"));
        const refused = await virsh(west, "define", path);
        assert.notEqual(refused.code, 0);
        assert.match(
          refused.stderr,
          new RegExp(`operation failed: domain 'web' already exists with uuid ${UUID}`),
        );
        // Through the API too, and nothing was defined or leased on west.
        await assert.rejects(
          west.client.define({ xml: XML("web", "0b9e2d41-6c3a-4f58-8e7d-2a1c4b6d8f03") }),
          (error: Error & { code?: number }) => error.code === 9,
        );
        assert.deepEqual(await west.client.listDomains(), []);
        assert.deepEqual(
          (await west.client.fleetDomains()).domains.map((domain) =>
            `${domain.name}@${domain.host}`
          ),
          ["web@east"],
        );
      });
    });
  },
);

testIf(
  "fleet rpc: a screenshot and virsh event --domain on one host reach a domain another host owns",
  missing("nats-server", "virsh"),
  async () => {
    await withFleet(["east", "west"], async ([east, west]) => {
      await east.client.define({ xml: XML("web", UUID) });
      await east.client.action("web", "start");
      await eventually(
        "west sees web on east",
        async () =>
          (await west.client.fleetDomains()).domains.some((domain) => domain.name === "web"),
      );
      await withTempDir("evirt-fleet-rpc-", async (dir) => {
        // The screenshot's stream is carried from east: the same image as east's own.
        await virshOk(west, "screenshot", "web", `${dir}/west.png`);
        await virshOk(east, "screenshot", "web", `${dir}/east.png`);
        assert.deepEqual(
          await Deno.readFile(`${dir}/west.png`),
          await Deno.readFile(`${dir}/east.png`),
        );
      });
      // A callback on west for east's domain gets its events from the fleet stream; one for
      // every domain keeps to west's own (libvirt's per-host connection).
      const watch = (args: string[]) =>
        followVirsh(socketUri(`${west.runtimeDir}/libvirt-sock`), ["event", ...args], 60_000);
      const one = watch(["--domain", "web", "--event", "lifecycle", "--loop"]);
      const all = watch(["--event", "lifecycle", "--loop"]);
      try {
        // virsh prints nothing when it has registered: wait for its callbacks to be in place
        // (west counts them: one for east's domain, one for every domain).
        await eventually(
          "both virsh have registered",
          async () => (await west.client.hostSummary()).subscribers.rpc >= 2,
        );
        await east.client.action("web", "suspend");
        await east.client.action("web", "resume");
        await eventually(
          "west's callback for web sees east's suspend and resume",
          () => Promise.resolve(/Resumed Unpaused/.test(one.seen.text)),
        );
        assert.equal(
          one.seen.text,
          "event 'lifecycle' for domain 'web': Suspended Paused\n" +
            "event 'lifecycle' for domain 'web': Resumed Unpaused\n",
        );
      } finally {
        await one.stop();
        await all.stop();
      }
      assert.doesNotMatch(all.seen.text, /web/);
    });
  },
);

/**
 * `schedinfo --set` on a real QEMU guest in its control group (cgroup v1 here, as libvirt 9.0
 * runs it on this host): `--live` writes the domain group's `cpu.shares` and every vCPU group's
 * CFS period and quota, after its intent (`domain.live_changing`) and before its outcome;
 * `--config` changes only the persistent definition; values libvirt refuses (a period out of
 * range, shares the kernel refuses) leave the group and both definitions as they were.
 */

import assert from "node:assert/strict";
import { Host } from "../../actors/host.ts";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import { cgroupOfRecord } from "../../src/host/cgroups.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { applyDomainDefaults } from "../../src/model/domain_defaults.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { parseDomainXml, validateDomain } from "../../src/xml/mod.ts";
import { missing, testIf } from "../support/environment.ts";
import { schedGuestXml } from "../support/sched_guest_xml.ts";
import { withTempDir } from "../support/temp_dir.ts";

/** Why the cgroup v1 `cpu` controller cannot be used here, if it cannot. */
function skipReason(): string | undefined {
  const absent = missing("qemu-system-x86_64", "taskset", "flock");
  if (absent !== undefined) return absent;
  return /- cgroup cgroup \S*\bcpu\b/.test(Deno.readTextFileSync("/proc/self/mountinfo"))
    ? undefined
    : "no cgroup v1 cpu controller here";
}

const skip = skipReason();

function read(path: string): string {
  return Deno.readTextFileSync(path).trim();
}

/**
 * Runs `during` on a QEMU host with the guest of `xml` defined and started paused (the host,
 * its memory log and the guest's uuid), then destroys the guest, runs `afterStop` and closes
 * the host; the folders go with it.
 */
async function withPausedGuest(
  name: string,
  xml: string,
  during: (host: Host, store: ReturnType<typeof createMemoryStore>, uuid: string) => Promise<void>,
  afterStop: (host: Host) => void = () => {},
): Promise<void> {
  await withTempDir("evirt-sched-", async (dir) => {
    const driver = await QemuDriver.create({
      runtimeDir: `${dir}/run`,
      logDir: `${dir}/log`,
      log: () => {},
    });
    const store = createMemoryStore();
    const host = await Host.open({ store, drivers: [driver], log: () => {} });
    try {
      const definition = applyDomainDefaults(parseDomainXml(xml));
      validateDomain(definition);
      await host.define(definition);
      await host.start(name, { paused: true });
      try {
        await during(host, store, host.lookup(name).uuid);
      } finally {
        await host.destroy(name);
      }
      afterStop(host);
    } finally {
      await host.close();
    }
  }, { searchable: true });
}

testIf(
  "schedinfo --set: live into the QEMU group after its intent, config into the definition",
  skip,
  async () => {
    const name = `sched-set-${Deno.pid}`;
    await withPausedGuest(name, schedGuestXml(name), async (host, store, uuid) => {
      const group = cgroupOfRecord(host.inspect(name).handle!.runtime);
      if (group.layout !== "v1" || group.cpu === undefined) throw new Error("no cpu group");
      const cpu: string = group.cpu;
      const files = () => [
        read(`${cpu}/cpu.shares`),
        ...[0, 1].flatMap((vcpu) => [
          read(`${cpu}/vcpu${vcpu}/cpu.cfs_period_us`),
          read(`${cpu}/vcpu${vcpu}/cpu.cfs_quota_us`),
        ]),
      ];
      const tunes = () => {
        const inspection = host.inspect(name);
        const of = (
          tune = inspection.definition.cputune,
        ) => [tune?.shares, tune?.period, tune?.quota];
        return { live: of(), config: of(inspection.persistentDefinition?.cputune) };
      };
      const before = (await store.readAll({ afterPosition: 0 })).length;

      await host.command("schedinfo", uuid, {
        settings: [
          { name: "cpu_shares", value: 700, type: "ullong" },
          { name: "vcpu_period", value: 200000, type: "ullong" },
          { name: "vcpu_quota", value: 30000, type: "llong" },
        ],
        flags: 1,
      });
      assert.deepEqual(files(), ["700", "200000", "30000", "200000", "30000"]);
      assert.deepEqual(tunes(), {
        live: [700, 200000, 30000],
        config: [1500, 100000, 50000],
      });
      const changes = (await store.readAll({ afterPosition: 0 })).slice(before)
        .map((fact) => fact.type);
      assert.deepEqual(changes, ["domain.live_changing", "domain.live_changed"]);

      // A zero quota live leaves it as it is (libvirt); --config takes it as given.
      await host.command("schedinfo", uuid, {
        settings: [{ name: "vcpu_quota", value: 0 }],
        flags: 1,
      });
      assert.deepEqual(files(), ["700", "200000", "30000", "200000", "30000"]);
      await host.command("schedinfo", uuid, {
        settings: [{ name: "cpu_shares", value: 800 }, { name: "vcpu_quota", value: -1 }],
        flags: 2,
      });
      assert.deepEqual(files(), ["700", "200000", "30000", "200000", "30000"]);
      assert.deepEqual(tunes(), { live: [700, 200000, 30000], config: [800, 100000, -1] });

      // The emulator's group and the domain's (global) take their bandwidth; I/O threads have
      // no group (none here), so theirs is recorded only.
      await host.command("schedinfo", uuid, {
        settings: [
          { name: "emulator_period", value: 50000 },
          { name: "global_quota", value: 400000 },
          { name: "iothread_period", value: 5000 },
        ],
        flags: 1,
      });
      assert.equal(read(`${cpu}/emulator/cpu.cfs_period_us`), "50000");
      assert.equal(read(`${cpu}/cpu.cfs_quota_us`), "400000");
      const live = host.inspect(name).definition.cputune;
      assert.deepEqual(
        [live?.emulatorPeriod, live?.globalQuota, live?.iothreadPeriod],
        [50000, 400000, 5000],
      );

      // Refused: nothing changes, in the group or either definition.
      const refusals: Array<[Array<{ name: string; value: number }>, number, string]> = [
        [
          [{ name: "vcpu_period", value: 999 }],
          8,
          "value of 'vcpu_period' is out of range [1000, 1000000]",
        ],
        [[{ name: "cpu_shares", value: 1 }], 8, "shares '1' must be in range [2, 262144]"],
        [
          [{ name: "cpu_shares", value: 300000 }],
          8,
          "shares '300000' must be in range [2, 262144]",
        ],
        [[{ name: "bogus", value: 1 }], 74, "parameter 'bogus' not supported"],
      ];
      for (const [settings, code, message] of refusals) {
        for (const flags of [1, 3]) {
          await assert.rejects(
            host.command("schedinfo", uuid, { settings, flags }),
            (error) => isVirtError(error) && error.code === code && error.message === message,
          );
          assert.deepEqual(files(), ["700", "200000", "30000", "200000", "30000"]);
          assert.deepEqual(tunes(), { live: [700, 200000, 30000], config: [800, 100000, -1] });
        }
      }
      await assert.rejects(
        host.command("schedinfo", uuid, {
          settings: [{ name: "cpu_shares", value: 5 }],
          flags: 8,
        }),
        (error) =>
          isVirtError(error) && error.code === 8 &&
          error.message ===
            "unsupported flags (0x8) in function qemuDomainSetSchedulerParametersFlags",
      );
    }, (host) => {
      // The stopped domain now starts with what --config set.
      const tune = host.inspect(name).definition.cputune;
      assert.deepEqual([tune?.shares, tune?.quota], [800, -1]);
    });
  },
);

testIf(
  "schedinfo --set --live on a guest started without limits (no group): 55, nothing recorded",
  skip,
  async () => {
    const name = `sched-nogroup-${Deno.pid}`;
    const xml = schedGuestXml(name).replace(/<cputune>.*<\/cputune>\n\s*/, "");
    assert.equal(applyDomainDefaults(parseDomainXml(xml)).cputune, undefined);
    await withPausedGuest(name, xml, async (host, store, uuid) => {
      const before = (await store.readAll({ afterPosition: 0 })).length;
      await assert.rejects(
        host.command("schedinfo", uuid, {
          settings: [{ name: "cpu_shares", value: 700, type: "ullong" }],
          flags: 1,
        }),
        (error) => isVirtError(error) && error.code === 55 && /has no cgroup/.test(error.message),
      );
      assert.equal((await store.readAll({ afterPosition: 0 })).length, before, "no fact");
    });
  },
);

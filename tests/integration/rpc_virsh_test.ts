/**
 * The real `virsh` drives the real evirt service over libvirt's protocol (`libvirt-sock`), on
 * test-hypervisor domains: lists with their flags, the reads compared line by line with evirt's
 * own CLI, the lifecycle, `event --loop --all`, the read-only socket and `-r` refusing every
 * mutation with code 29, `test:///default` per connection, and an unimplemented procedure
 * answering code 3.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CliRun, runEvirt } from "../support/cli_process.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";
import { assertSameOutput, runVirsh, socketUri, VIRSH_TIMEOUT_MS } from "../support/virsh.ts";

const DOMAIN_XML = (name: string, dir: string) =>
  `<domain type='test'>
  <name>${name}</name>
  <memory unit='KiB'>1048576</memory>
  <vcpu>2</vcpu>
  <os><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><source file='${dir}/${name}.img'/><target dev='vda' bus='virtio'/></disk>
    <interface type='network'><mac address='52:54:00:00:00:0${name.length}'/><source network='default'/><target dev='tap-${name}'/></interface>
    <memballoon model='virtio'/>
  </devices>
</domain>
`;

function evirt(service: ServiceProcess, ...args: string[]): Promise<CliRun> {
  return runEvirt(args, { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" });
}

testIf(
  "virsh drives evirt over libvirt's protocol and prints what evirt's CLI prints",
  missing("virsh"),
  async (t) => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const readOnlyUri = socketUri(`${dirs.runtimeDir}/libvirt-sock-ro`);
    const virsh = async (...args: string[]) => {
      const run = await runVirsh(uri, args);
      assert.equal(run.code, 0, `virsh ${args.join(" ")}: ${run.stderr}`);
      return run.stdout;
    };
    const same = async (...args: string[]) => {
      const [left, right] = [await runVirsh(uri, args), await evirt(service, ...args)];
      assert.equal(left.code, 0, `virsh ${args.join(" ")}: ${left.stderr}`);
      assert.equal(right.code, 0, `evirt ${args.join(" ")}: ${right.stderr}`);
      assertSameOutput(left.stdout, right.stdout, args.join(" "));
    };
    try {
      for (const name of ["web", "db"]) {
        await Deno.writeFile(`${base}/${name}.img`, new Uint8Array(1 << 20));
        await Deno.writeTextFile(`${base}/${name}.xml`, DOMAIN_XML(name, base));
      }

      await t.step("define and list with every flag", async () => {
        assert.equal(
          await virsh("define", `${base}/web.xml`),
          `Domain 'web' defined from ${base}/web.xml\n\n`,
        );
        await virsh("define", `${base}/db.xml`);
        await virsh("start", "web");
        await virsh("autostart", "db");
        for (
          const flags of [
            ["--all"],
            ["--inactive"],
            [],
            ["--all", "--persistent"],
            ["--all", "--transient"],
            ["--all", "--autostart"],
            ["--all", "--no-autostart"],
            ["--all", "--state-running"],
            ["--all", "--state-shutoff"],
            ["--all", "--state-paused"],
            ["--all", "--name"],
            ["--all", "--uuid"],
          ]
        ) {
          await same("list", ...flags);
        }
        assert.match(await virsh("list", "--all"), /^ 1 +web +running$/m);
      });

      await t.step("reads match evirt's CLI line by line", async () => {
        for (
          const args of [
            ["dominfo", "web"],
            ["dominfo", "db"],
            ["domstate", "--reason", "web"],
            ["domstate", "--reason", "db"],
            ["dumpxml", "web"],
            ["dumpxml", "--inactive", "web"],
            ["dumpxml", "db"],
            ["domblkinfo", "web", "vda"],
            ["domblkinfo", "db", "vda"],
            ["domblkerror", "web"],
            ["domblklist", "web"],
            ["domstats", "web"],
            ["domstats", "--state", "--vcpu"],
            ["domstats", "--list-inactive"],
            ["domifstat", "web", "tap-web"],
            ["dommemstat", "web"],
            ["vcpuinfo", "web"],
            ["nodeinfo"],
            ["hostname"],
          ]
        ) {
          await same(...args);
        }
      });

      await t.step("event --loop --all sees every lifecycle event of a run", async () => {
        const events = new Deno.Command("virsh", {
          args: ["-c", uri, "event", "--loop", "--all", "--timestamp"],
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(VIRSH_TIMEOUT_MS),
        }).spawn();
        const lines: string[] = [];
        const reading = (async () => {
          for await (const chunk of events.stdout.pipeThrough(new TextDecoderStream())) {
            lines.push(...chunk.split("\n").filter((line) => line !== ""));
          }
        })();
        try {
          // virsh prints nothing once registered: give it time to register every event id.
          await new Promise((resolve) => setTimeout(resolve, 1500));
          await virsh("start", "db");
          await virsh("suspend", "db");
          await virsh("resume", "db");
          await virsh("destroy", "db");
          const deadline = Date.now() + 10_000;
          while (lines.length < 4 && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        } finally {
          events.kill("SIGTERM");
          await events.status;
          await reading;
          await events.stderr.cancel();
        }
        const events4 = lines.map((line) => line.replace(/^\S+ \S+: /, ""));
        assert.deepEqual(events4, [
          "event 'lifecycle' for domain 'db': Started Booted",
          "event 'lifecycle' for domain 'db': Suspended Paused",
          "event 'lifecycle' for domain 'db': Resumed Unpaused",
          "event 'lifecycle' for domain 'db': Stopped Destroyed",
        ]);
      });

      await t.step("the lifecycle through virsh", async () => {
        assert.equal(await virsh("suspend", "web"), "Domain 'web' suspended\n\n");
        assert.equal(await virsh("domstate", "--reason", "web"), "paused (user)\n\n");
        assert.equal(await virsh("resume", "web"), "Domain 'web' resumed\n\n");
        assert.equal(await virsh("domstate", "--reason", "web"), "running (unpaused)\n\n");
        assert.equal(await virsh("reboot", "web"), "Domain 'web' is being rebooted\n\n");
        assert.equal(await virsh("reset", "web"), "Domain 'web' was reset\n\n");
        assert.equal(await virsh("autostart", "web"), "Domain 'web' marked as autostarted\n\n");
        assert.match(await virsh("dominfo", "web"), /^Autostart: +enable$/m);
        await virsh("autostart", "--disable", "web");
        assert.equal(await virsh("destroy", "web"), "Domain 'web' destroyed\n\n");
        assert.equal(await virsh("domstate", "--reason", "web"), "shut off (destroyed)\n\n");
        assert.equal(await virsh("start", "web"), "Domain 'web' started\n\n");
        assert.equal(await virsh("shutdown", "web"), "Domain 'web' is being shutdown\n\n");
        assert.equal(await virsh("undefine", "db"), "Domain 'db' has been undefined\n\n");
        assert.doesNotMatch((await evirt(service, "list", "--all")).stdout, /\bdb\b/);
      });

      await t.step("read-only access refuses every mutation with code 29", async () => {
        const mutations: Array<[string[], string]> = [
          [["define", `${base}/db.xml`], "virDomainDefineXML"],
          [["start", "web"], "virDomainCreate"],
          [["destroy", "web"], "virDomainDestroy"],
          [["shutdown", "web"], "virDomainShutdown"],
          [["reboot", "web"], "virDomainReboot"],
          [["reset", "web"], "virDomainReset"],
          [["suspend", "web"], "virDomainSuspend"],
          [["resume", "web"], "virDomainResume"],
          [["autostart", "web"], "virDomainSetAutostart"],
          [["undefine", "web"], "virDomainUndefineFlags"],
          [["desc", "web", "--title", "x"], "virDomainSetMetadata"],
        ];
        for (const [args, api] of mutations) {
          const viaSocket = await runVirsh(readOnlyUri, args);
          assert.equal(viaSocket.code, 1, args.join(" "));
          assert.match(
            viaSocket.stderr,
            new RegExp(`operation forbidden: read only access prevents ${api}`),
            args.join(" "),
          );
          const viaFlag = await runVirsh(uri, ["-r", ...args]);
          assert.equal(viaFlag.code, 1, `-r ${args.join(" ")}`);
          assert.match(viaFlag.stderr, new RegExp(`read only access prevents ${api}`));
        }
        assert.match((await runVirsh(readOnlyUri, ["list", "--all"])).stdout, /\bweb\b/);
      });

      await t.step("test:///default over the socket is libvirt's test hypervisor", async () => {
        const testUri = socketUri(`${dirs.runtimeDir}/libvirt-sock`, "test", "default");
        const run = await runVirsh(testUri, ["list", "--all"]);
        assert.equal(run.code, 0, run.stderr);
        const local = await runEvirt(["-c", "test:///default", "list", "--all"]);
        assertSameOutput(run.stdout, local.stdout, "test:///default list --all");
        // Private to the connection: a destroy there leaves the next connection's test running.
        assert.equal((await runVirsh(testUri, ["destroy", "test"])).code, 0);
        assert.match((await runVirsh(testUri, ["list"])).stdout, /^ 1 +test +running$/m);
      });

      await t.step(
        "an unimplemented procedure answers code 3, not a dropped connection",
        async () => {
          const run = await runVirsh(uri, ["domlaunchsecinfo", "web"]);
          assert.equal(run.code, 1);
          assert.match(run.stderr, /this function is not supported by the connection driver/);
        },
      );
    } finally {
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

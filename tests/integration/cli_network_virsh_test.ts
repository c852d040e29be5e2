/**
 * evirt's own CLI (`evirt net-*` over evirt's HTTP API) prints what the real `virsh` prints over
 * evirt's libvirt socket for the same networks of the same service (which
 * `rpc_network_virsh_test.ts` compares with libvirtd 9.0): lists with every filter, infos,
 * uuids, names, XML, the messages of define, autostart, edit and undefine, and the failure
 * lines of refused commands.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CliRun, runEvirt } from "../support/cli_process.ts";
import { missing, testIf } from "../support/environment.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";

function assertSame(mine: CliRun, theirs: CliRun, what: string): void {
  assert.equal(mine.stderr, theirs.stderr, `${what}: stderr`);
  assert.equal(mine.code, theirs.code, `${what}: exit codes`);
  assert.equal(mine.stdout, theirs.stdout, `${what}: stdout`);
}

testIf(
  "evirt's net verbs print what virsh prints over evirt's socket",
  missing("virsh"),
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const env = { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" };
    const evirt = (args: string[], extra: Record<string, string> = {}) =>
      runEvirt(args, { ...env, ...extra });
    const same = async (...args: string[]) =>
      assertSame(await evirt(args), await runVirsh(uri, args), args.join(" "));
    try {
      const files: string[] = [];
      const bodies = [
        `<forward mode='nat'/><bridge name='evt0'/><mac address='52:54:00:00:00:01'/>` +
        `<ip address='10.252.0.1' prefix='24'><dhcp><range start='10.252.0.2' end='10.252.0.9'/>` +
        `</dhcp></ip>`,
        `<bridge name='evt1'/><mac address='52:54:00:00:00:02'/>`,
        `<forward mode='bridge'/><bridge name='evtnh${crypto.randomUUID().slice(0, 6)}'/>`,
      ];
      for (const [index, body] of bodies.entries()) {
        const file = `${base}/n${index}.xml`;
        await Deno.writeTextFile(
          file,
          `<network><name>Net${index}</name><uuid>${crypto.randomUUID()}</uuid>${body}</network>`,
        );
        files.push(file);
      }
      // Defines alternate between the two clients; each message is checked against the other.
      const defined = await evirt(["net-define", files[0]]);
      assert.equal(defined.stdout, `Network Net0 defined from ${files[0]}\n\n`);
      const redefined = await runVirsh(uri, ["net-define", files[0]]);
      assert.equal(redefined.stdout, defined.stdout);
      await same("net-define", files[1]);
      const gone = await runVirsh(uri, ["net-undefine", "Net1"]);
      assert.equal(gone.stdout, "Network Net1 has been undefined\n\n", gone.stderr);
      assert.equal((await evirt(["net-define", files[1]])).code, 0, "defined again, same uuid");
      assert.equal((await evirt(["net-define", files[2]])).code, 0);
      await same("net-autostart", "Net0");
      await same("net-autostart", "--disable", "Net1");
      for (
        const flags of [
          [],
          ["--all"],
          ["--inactive"],
          ["--persistent"],
          ["--transient"],
          ["--autostart"],
          ["--no-autostart"],
          ["--all", "--name"],
          ["--all", "--uuid"],
          ["--all", "--table"],
          ["--name", "--uuid"],
        ]
      ) {
        await same("net-list", ...flags);
      }
      for (const name of ["Net0", "Net1", "Net2", "missing"]) {
        await same("net-info", name);
        await same("net-uuid", name);
        await same("net-dumpxml", name);
        await same("net-dumpxml", "--inactive", name);
      }
      const uuid = (await evirt(["net-uuid", "Net2"])).stdout.trim();
      await same("net-name", uuid);
      await same("net-info", uuid);
      // Refused alike: this service runs on the host's network with its network runtime off
      // (starts run in a namespace of their own in network_runtime_service_test.ts).
      await same("net-start", "Net2");
      await same("net-destroy", "Net1");
      await same("net-create", files[2]);
      await same("net-define", `${base}/none.xml`);
      // net-edit: unchanged, then an edit the service takes.
      const unchanged = await evirt(["net-edit", "Net1"], { EDITOR: "true" });
      assert.equal(unchanged.code, 0, unchanged.stderr);
      assert.equal(unchanged.stdout, "Network Net1 XML configuration not changed.\n\n");
      const edited = await evirt(["net-edit", "Net1"], {
        EDITOR: "sed -i s/evt1/evt9/",
      });
      assert.equal(edited.stdout, "Network Net1 XML configuration edited.\n\n", edited.stderr);
      assert.match((await evirt(["net-dumpxml", "Net1"])).stdout, /<bridge name='evt9'/);
      const undefined2 = await evirt(["net-undefine", "Net2"]);
      assert.equal(undefined2.stdout, "Network Net2 has been undefined\n\n", undefined2.stderr);
      await same("net-undefine", "Net2");
      await same("net-list", "--all");
    } finally {
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

/**
 * The real `virsh` drives evirt's networks over libvirt's protocol, side by side with the
 * running libvirtd 9.0 on the same network XML: `net-define`, `net-dumpxml` (live and
 * `--inactive`), `net-info`, `net-uuid`, `net-name`, `net-autostart`, `net-list` with each of
 * its filters, refused defines (a name or uuid taken, a bridge name in use) and `net-undefine`
 * print the same. No network is started on either (that would make a bridge on the host):
 * this service's network runtime is off (starts refused, code 84); evirt's starts run in a
 * namespace of their own in `network_runtime_service_test.ts`. Every network is
 * named with {@linkcode ORACLE_PREFIX} and undefined in `finally`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import { LIBVIRTD_SOCKET, ORACLE_PREFIX, oracleVirsh } from "../support/libvirtd.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { runVirsh, socketUri, type VirshRun } from "../support/virsh.ts";

function assertSame(left: VirshRun, right: VirshRun, what: string): void {
  assert.equal(left.stderr, right.stderr, `${what}: stderr`);
  assert.equal(left.code, right.code, `${what}: exit codes`);
  assert.equal(left.stdout, right.stdout, `${what}: stdout`);
}

/** A short tag for bridge names (at most 15 bytes in Linux). */
const tag = crypto.randomUUID().slice(0, 6);
const prefix = `${ORACLE_PREFIX}net15-${tag}-`;

/** The test networks: name suffix and XML body (name and uuid are added). */
const NETWORKS: ReadonlyArray<[string, string]> = [
  [
    "nat",
    `<forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>` +
    `<bridge name='evn${tag}0' stp='on' delay='0'/><mac address='52:54:00:12:34:01'/>` +
    `<domain name='example.test' localOnly='yes'/>` +
    `<ip address='10.251.0.1' netmask='255.255.255.0'><dhcp>` +
    `<range start='10.251.0.2' end='10.251.0.254'/>` +
    `<host mac='52:54:00:aa:bb:cc' name='guest1' ip='10.251.0.10'/></dhcp></ip>`,
  ],
  [
    "isolated",
    `<bridge name='evn${tag}1'/><mac address='52:54:00:12:34:02'/><mtu size='9000'/>` +
    `<ip family='ipv6' address='fd00:251::1' prefix='64'/>` +
    `<dns><host ip='10.251.1.5'><hostname>h</hostname></host></dns>`,
  ],
  [
    "route",
    `<forward mode='route' dev='lo'/><bridge name='evn${tag}2'/>` +
    `<mac address='52:54:00:12:34:03'/><ip address='10.251.2.1' prefix='24'/>`,
  ],
  [
    "open",
    `<forward mode='open'/><bridge name='evn${tag}3' stp='off'/>` +
    `<mac address='52:54:00:12:34:04'/><ip address='10.251.3.1' prefix='24'/>`,
  ],
  ["hostbridge", `<forward mode='bridge'/><bridge name='evh${tag}'/>`],
  [
    "bandwidth",
    `<forward mode='nat'/><bridge name='evn${tag}4'/><mac address='52:54:00:12:34:05'/>` +
    `<bandwidth><inbound average='1000' peak='5000' burst='1024'/>` +
    `<outbound average='128' peak='256' burst='256'/></bandwidth>` +
    `<ip address='10.251.4.1' prefix='24'/>` +
    `<portgroup name='fast' default='yes'><bandwidth><inbound average='2000' floor='100'/>` +
    `<outbound average='500'/></bandwidth></portgroup>` +
    `<portgroup name='slow'><bandwidth><outbound average='10' burst='20'/></bandwidth>` +
    `</portgroup>`,
  ],
];

testIf(
  "virsh sees evirt's networks as it sees libvirtd's on the same XML",
  missing("virsh", LIBVIRTD_SOCKET),
  async (t) => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const evirt = (...args: string[]) => runVirsh(uri, args);
    const both = async (...args: string[]) =>
      [await evirt(...args), await oracleVirsh(args)] as [VirshRun, VirshRun];
    const defined: string[] = [];
    const files = new Map<string, string>();
    try {
      for (const [suffix, body] of NETWORKS) {
        const path = `${base}/${suffix}.xml`;
        await Deno.writeTextFile(
          path,
          `<network><name>${prefix}${suffix}</name><uuid>${crypto.randomUUID()}</uuid>${body}` +
            `</network>`,
        );
        files.set(suffix, path);
      }

      await t.step("net-define, net-dumpxml, net-info, net-uuid, net-name", async () => {
        for (const [suffix] of NETWORKS) {
          const name = `${prefix}${suffix}`;
          const [mine, theirs] = await both("net-define", files.get(suffix)!);
          if (theirs.code === 0) defined.push(name);
          assertSame(mine, theirs, `net-define ${suffix}`);
          assertSame(
            ...await both("net-dumpxml", "--inactive", name),
            `dumpxml --inactive ${suffix}`,
          );
          assertSame(...await both("net-dumpxml", name), `dumpxml ${suffix}`);
          assertSame(...await both("net-info", name), `net-info ${suffix}`);
          const uuid = (await evirt("net-uuid", name)).stdout.trim();
          assertSame(...await both("net-uuid", name), `net-uuid ${suffix}`);
          assertSame(...await both("net-name", uuid), `net-name ${suffix}`);
          assertSame(...await both("net-info", uuid), `net-info by uuid ${suffix}`);
        }
      });

      await t.step("autostart and every net-list filter", async () => {
        assertSame(...await both("net-autostart", `${prefix}nat`), "net-autostart");
        assertSame(...await both("net-info", `${prefix}nat`), "net-info after autostart");
        assertSame(
          ...await both("net-autostart", "--disable", `${prefix}route`),
          "net-autostart --disable",
        );
        const ours = (text: string) =>
          text.split("\n").filter((line) => line.includes(prefix)).join("\n");
        const lists = [
          ["--all"],
          ["--inactive"],
          [],
          ["--persistent"],
          ["--transient"],
          ["--autostart"],
          ["--no-autostart", "--all"],
          ["--all", "--name"],
          ["--all", "--uuid"],
          ["--all", "--table"],
          ["--inactive", "--autostart"],
        ];
        for (const flags of lists) {
          const [mine, theirs] = await both("net-list", ...flags);
          assert.equal(mine.code, theirs.code, `net-list ${flags.join(" ")}`);
          assert.equal(ours(mine.stdout), ours(theirs.stdout), `net-list ${flags.join(" ")}`);
          if (!flags.includes("--name") && !flags.includes("--uuid")) {
            assert.equal(
              mine.stdout.split("\n")[0].trim().split(/\s+/).join(" "),
              theirs.stdout.split("\n")[0].trim().split(/\s+/).join(" "),
              `net-list ${flags.join(" ")} header`,
            );
          }
        }
      });

      await t.step("refused defines print libvirtd's messages", async () => {
        const nat = await Deno.readTextFile(files.get("nat")!);
        const cases: Array<[string, string]> = [
          [
            "same name, other uuid",
            nat.replace(/<uuid>[^<]*<\/uuid>/, `<uuid>${crypto.randomUUID()}</uuid>`),
          ],
          ["same uuid, other name", nat.replace(`${prefix}nat<`, `${prefix}other<`)],
          [
            "bridge in use",
            nat.replace(`${prefix}nat<`, `${prefix}other<`).replace(
              /<uuid>[^<]*<\/uuid>/,
              `<uuid>${crypto.randomUUID()}</uuid>`,
            ),
          ],
        ];
        for (const [what, text] of cases) {
          const path = `${base}/refused.xml`;
          await Deno.writeTextFile(path, text);
          const [mine, theirs] = await both("net-define", path);
          if (theirs.code === 0) defined.push(`${prefix}other`);
          assert.notEqual(mine.code, 0, what);
          assertSame(mine, theirs, what);
        }
      });

      // This service runs on the host's network, with its network runtime off: starts are
      // refused (code 84). They run in a namespace of their own in
      // network_runtime_service_test.ts.
      await t.step("net-start is refused and changes nothing", async () => {
        const name = `${prefix}hostbridge`;
        const before = await evirt("net-info", name);
        const started = await evirt("net-start", name);
        assert.notEqual(started.code, 0);
        assert.match(
          started.stderr,
          /Operation not supported: cannot start network .*: this service has no network runtime/,
        );
        assert.deepEqual(await evirt("net-info", name), before);
        const created = await evirt("net-create", files.get("hostbridge")!);
        assert.notEqual(created.code, 0);
        assert.match(created.stderr, /this service has no network runtime/);
        assert.deepEqual(await evirt("net-info", name), before);
      });

      await t.step("net-undefine prints the same and the networks are gone", async () => {
        for (const name of [...defined]) {
          assertSame(...await both("net-undefine", name), `net-undefine ${name}`);
          defined.splice(defined.indexOf(name), 1);
        }
        assertSame(...await both("net-info", `${prefix}nat`), "net-info of a gone network");
      });
    } finally {
      for (const name of defined) await oracleVirsh(["net-undefine", name]);
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

/** Runs `virsh net-event --event lifecycle` until it times out and returns its output. */
async function networkEvents(uri: string, seconds: number): Promise<Deno.CommandOutput> {
  return await new Deno.Command("virsh", {
    args: ["-c", uri, "net-event", "--event", "lifecycle", "--loop", "--timeout", String(seconds)],
    env: { LIBVIRT_DEFAULT_URI: "", VIRSH_DEFAULT_CONNECT_URI: "" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout((seconds + 20) * 1000),
  }).output();
}

testIf(
  "virsh net-event prints evirt's network events as it prints libvirtd's",
  missing("virsh", LIBVIRTD_SOCKET),
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const name = `${prefix}events`;
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    let oracleDefined = false;
    try {
      const xmlPath = `${base}/net.xml`;
      await Deno.writeTextFile(
        xmlPath,
        `<network><name>${name}</name><uuid>${crypto.randomUUID()}</uuid>` +
          `<bridge name='evn${tag}e'/><mac address='52:54:00:12:34:0e'/></network>`,
      );
      const watching = [networkEvents(uri, 10), networkEvents("qemu:///system", 10)];
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      for (const run of [(args: string[]) => runVirsh(uri, args), oracleVirsh]) {
        for (
          const args of [["net-define", xmlPath], ["net-define", xmlPath], ["net-undefine", name]]
        ) {
          const done = await run(args);
          assert.equal(done.code, 0, `${args.join(" ")}: ${done.stderr}`);
          if (run === oracleVirsh) oracleDefined = args[0] !== "net-undefine";
        }
      }
      const outputs = await Promise.all(watching);
      const [mine, theirs] = outputs.map((output) =>
        new TextDecoder().decode(output.stdout).split("\n").filter((line) => line.includes(name))
      );
      assert.equal(mine.length, 3, new TextDecoder().decode(outputs[0].stderr));
      assert.deepEqual(mine, theirs);
    } finally {
      if (oracleDefined) await oracleVirsh(["net-undefine", name]);
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

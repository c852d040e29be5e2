/**
 * The real `virsh` drives network ports (`net-port-create`, `net-port-list`,
 * `net-port-dumpxml`, `net-port-delete`) on evirt and on the running libvirtd 9.0 with the same
 * inputs, and both print the same: ports created with and without a portgroup, the XML the
 * allocation fills in (plug, portgroup bandwidth, the network's rx filter trust), the list in
 * every layout, deletion, and the refusals (a port on an inactive network, bad XML, a uuid in
 * use, a `floor` the network cannot honour, a port already plugged, no such port, a list of an
 * inactive network). evirt's own CLI prints the same for the same commands.
 *
 * The network is `bridge` mode on a bridge that does not exist: starting it makes nothing on
 * either side (libvirtd records it; evirt's service runs in a namespace of the test's own,
 * where the bridge is made). Names carry {@linkcode ORACLE_PREFIX}; the libvirtd network is
 * destroyed and undefined in `finally`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runEvirt } from "../support/cli_process.ts";
import { missing, testIf } from "../support/environment.ts";
import { LIBVIRTD_SOCKET, ORACLE_PREFIX, oracleVirsh } from "../support/libvirtd.ts";
import { netnsSkipReason, withNetns } from "../support/netns.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { runVirsh, socketUri, type VirshRun } from "../support/virsh.ts";

function assertSame(mine: VirshRun, theirs: VirshRun, what: string): void {
  assert.equal(mine.stderr, theirs.stderr, `${what}: stderr`);
  assert.equal(mine.code, theirs.code, `${what}: exit codes`);
  assert.equal(mine.stdout, theirs.stdout, `${what}: stdout`);
}

const tag = crypto.randomUUID().slice(0, 6);
const name = `${ORACLE_PREFIX}port-${tag}`;
const bridge = `evp${tag}`;
const NETWORK = `<network trustGuestRxFilters='yes'><name>${name}</name>` +
  `<uuid>${crypto.randomUUID()}</uuid><forward mode='bridge'/><bridge name='${bridge}'/>` +
  `<portgroup name='slow'><bandwidth><outbound average='10' burst='20'/></bandwidth>` +
  `</portgroup></network>`;

const OWNER = `<owner><name>guest-${tag}</name><uuid>${crypto.randomUUID()}</uuid></owner>`;

function port(uuid: string, body: string): string {
  return `<networkport><uuid>${uuid}</uuid>${OWNER}${body}</networkport>`;
}

const first = crypto.randomUUID();
const second = crypto.randomUUID();
const third = crypto.randomUUID();

/** Port files by name: created in this order; those after the third are refused. */
const PORTS: ReadonlyArray<[string, string]> = [
  ["plain", port(first, `<mac address='52:54:00:AB:00:01'/>`)],
  [
    "group",
    port(
      second,
      `<group>slow</group><mac address='52:54:00:ab:00:02'/><rxfilters trustGuest='no'/>` +
        `<port isolated='yes'/>`,
    ),
  ],
  [
    "bandwidth",
    port(
      third,
      `<mac address='52:54:00:ab:00:03'/><bandwidth><inbound average='100' peak='200' ` +
        `burst='300'/><outbound average='50'/></bandwidth>`,
    ),
  ],
  ["duplicate", port(first, `<mac address='52:54:00:ab:00:09'/>`)],
  [
    "floor",
    port(
      crypto.randomUUID(),
      `<mac address='52:54:00:ab:00:04'/><bandwidth><inbound average='10' floor='5'/>` +
        `</bandwidth>`,
    ),
  ],
  [
    "plugged",
    port(crypto.randomUUID(), `<mac address='52:54:00:ab:00:05'/><plug type='bridge' bridge='x'/>`),
  ],
  ["no-uuid", `<networkport>${OWNER}<mac address='52:54:00:ab:00:06'/></networkport>`],
  ["bad-uuid", port("not-a-uuid", `<mac address='52:54:00:ab:00:06'/>`)],
  ["no-mac", port(crypto.randomUUID(), "")],
  ["bad-mac", port(crypto.randomUUID(), `<mac address='52:54:00:ab:00'/>`)],
  [
    "no-owner",
    `<networkport><uuid>${crypto.randomUUID()}</uuid><mac address='52:54:00:ab:00:07'/>` +
    `</networkport>`,
  ],
  ["root", `<port><uuid>${crypto.randomUUID()}</uuid></port>`],
];

testIf(
  "virsh's net-port verbs print the same on evirt and on libvirtd",
  missing("virsh", LIBVIRTD_SOCKET) ?? netnsSkipReason(),
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const files = new Map<string, string>();
    for (const [key, xml] of [["network", NETWORK], ...PORTS]) {
      const path = `${base}/${key}.xml`;
      await Deno.writeTextFile(path, xml);
      files.set(key, path);
    }
    let oracleDefined = false;
    try {
      await withNetns(async (ns) => {
        await ns.exec(["ip", "link", "add", bridge, "type", "bridge"]);
        const service = await startServiceProcess(dirs, { EVIRT_NETWORK_RUNTIME: "on" }, [
          "ip",
          "netns",
          "exec",
          ns.name,
        ]);
        const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
        const both = async (...args: string[]) =>
          [await runVirsh(uri, args), await oracleVirsh(args)] as [VirshRun, VirshRun];
        try {
          const [mine, theirs] = await both("net-define", files.get("network")!);
          oracleDefined = theirs.code === 0;
          assertSame(mine, theirs, "net-define");
          assertSame(
            ...await both("net-port-create", name, files.get("plain")!),
            "a port on an inactive network",
          );
          assertSame(...await both("net-port-list", name), "the ports of an inactive network");
          assertSame(...await both("net-start", name), "net-start");
          for (const [key] of PORTS) {
            assertSame(...await both("net-port-create", name, files.get(key)!), `create ${key}`);
          }
          for (const flags of [[], ["--uuid"], ["--table"]]) {
            const [mine, theirs] = await both("net-port-list", name, ...flags);
            assert.equal(mine.code, theirs.code, `net-port-list ${flags}`);
            // The table's order is the driver's hash order in libvirt: compare as sets of lines.
            assert.deepEqual(
              mine.stdout.split("\n").sort(),
              theirs.stdout.split("\n").sort(),
              `net-port-list ${flags}`,
            );
          }
          for (const uuid of [first, second, third, crypto.randomUUID(), "zzz"]) {
            assertSame(...await both("net-port-dumpxml", name, uuid), `dumpxml ${uuid}`);
          }
          assertSame(...await both("net-port-delete", name, second), "delete");
          assertSame(...await both("net-port-delete", name, second), "delete again");
          assertSame(...await both("net-port-list", name, "--uuid"), "list after delete");
          assertSame(...await both("net-destroy", name), "net-destroy");
          assertSame(...await both("net-port-list", name), "the ports of a stopped network");
          assertSame(...await both("net-start", name), "net-start again");
          assertSame(...await both("net-port-list", name, "--uuid"), "no port after a restart");

          // evirt's own CLI, over its HTTP API, prints what virsh prints against libvirtd.
          const env = { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" };
          const cliSequence = [
            ...["plain", "group", "duplicate", "floor", "plugged", "no-uuid", "root"].map((
              key,
            ) => ["net-port-create", name, files.get(key)!]),
            ["net-port-list", name, "--uuid"],
            ["net-port-dumpxml", name, first],
            ["net-port-dumpxml", name, crypto.randomUUID()],
            ["net-port-delete", name, second],
            ["net-port-delete", name, second],
            ["net-port-list", name, "--table"],
            ["net-port-list", `${name}-none`],
          ];
          for (const args of cliSequence) {
            const ours = await runEvirt(args, env);
            const theirs = await oracleVirsh(args);
            if (theirs.stderr.includes("failed to get network port")) {
              // virsh 9.0 prints this failure and exits 0 (its port verbs return success when
              // the port lookup fails); evirt's CLI prints the same line and exits 1.
              assert.equal(ours.stderr, theirs.stderr, `evirt ${args.join(" ")}: stderr`);
              assert.equal(ours.stdout, theirs.stdout, `evirt ${args.join(" ")}: stdout`);
              assert.deepEqual([ours.code, theirs.code], [1, 0], `evirt ${args.join(" ")}`);
              continue;
            }
            if (args[0] === "net-port-list") {
              // libvirt lists ports in its hash table's order: the same lines, in any order.
              const lines = (run: VirshRun) => run.stdout.split("\n").sort();
              assert.deepEqual(lines(ours), lines(theirs), `evirt ${args.join(" ")}: stdout`);
              assert.deepEqual(
                [ours.stderr, ours.code],
                [theirs.stderr, theirs.code],
                `evirt ${args.join(" ")}`,
              );
              continue;
            }
            assertSame(ours, theirs, `evirt ${args.join(" ")}`);
          }
          assertSame(...await both("net-destroy", name), "net-destroy again");
        } finally {
          await service.stop("SIGTERM");
        }
      });
    } finally {
      if (oracleDefined) {
        await oracleVirsh(["net-destroy", name]);
        await oracleVirsh(["net-undefine", name]);
      }
      await removeServiceDirs(dirs);
    }
  },
  { sanitizeResources: false, sanitizeOps: false },
);

/**
 * `virsh net-update` over evirt's libvirt socket prints what it prints against libvirtd 9.0 for
 * the same network XML and the same updates: every command on the DHCP host and range, DNS
 * host, TXT and SRV, forward interface and portgroup sections, the refusals (duplicates,
 * nothing matching, sections libvirt cannot update, bad elements, `--live` on an inactive
 * network, option errors) and the XML after them. Only inactive networks are updated on both
 * (a running libvirtd network would make a bridge on the host); live updates run in a
 * namespace of evirt's own in `network_update_service_test.ts`. evirt's own CLI prints the same
 * as virsh for the same updates. Networks are named with {@linkcode ORACLE_PREFIX} and
 * undefined in `finally`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runEvirt } from "../support/cli_process.ts";
import { missing, testIf } from "../support/environment.ts";
import { LIBVIRTD_SOCKET, ORACLE_PREFIX, oracleVirsh } from "../support/libvirtd.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { runVirsh, socketUri, type VirshRun } from "../support/virsh.ts";

function assertSame(left: VirshRun, right: VirshRun, what: string): void {
  assert.equal(left.stderr, right.stderr, `${what}: stderr`);
  assert.equal(left.code, right.code, `${what}: exit codes`);
  assert.equal(left.stdout, right.stdout, `${what}: stdout`);
}

const tag = crypto.randomUUID().slice(0, 6);
const name = `${ORACLE_PREFIX}upd-${tag}`;

const NETWORK = `<network><name>${name}</name><uuid>${crypto.randomUUID()}</uuid>` +
  `<forward mode='nat'/><bridge name='evu${tag}'/><mac address='52:54:00:12:35:01'/>` +
  `<ip address='10.249.0.1' netmask='255.255.255.0'><dhcp>` +
  `<range start='10.249.0.10' end='10.249.0.20'/>` +
  `<host mac='52:54:00:00:00:01' name='a' ip='10.249.0.2'/></dhcp></ip>` +
  `<ip family='ipv6' address='fd00:249::1' prefix='64'/></network>`;

/** Updates in order: each line is the words after `net-update <network>`. */
const UPDATES: readonly string[][] = [
  ["add", "ip-dhcp-host", "<host mac='52:54:00:00:00:01' ip='10.249.0.3'/>"],
  ["add", "ip-dhcp-host", "<host mac='52:54:00:00:00:02' ip='10.249.0.3'/>", "--live"],
  ["add-first", "ip-dhcp-host", "<host mac='52:54:00:00:00:0A' name='b' ip='10.249.0.4'/>"],
  ["add-last", "ip-dhcp-host", "<host name='c' ip='10.249.0.5'/>", "--config"],
  ["add", "ip-dhcp-host", "<host name='d' ip='10.9.9.9'/>", "--current"],
  ["modify", "ip-dhcp-host", "<host mac='52:54:00:00:00:09' ip='10.249.0.9'/>"],
  ["modify", "ip-dhcp-host", "<host mac='52:54:00:00:00:0a' name='b2' ip='10.249.0.6'/>"],
  ["delete", "ip-dhcp-host", "<host mac='52:54:00:00:00:09'/>"],
  ["delete", "ip-dhcp-host", "<host/>"],
  ["delete", "ip-dhcp-host", "<host name='d'/>"],
  ["add", "ip-dhcp-host", "<host/>"],
  ["add", "ip-dhcp-host", "<host ip='10.249.0.77'/>"],
  ["add", "ip-dhcp-host", "<host name='zz'/>"],
  ["add", "ip-dhcp-host", "<host mac='zz' ip='10.249.0.78'/>"],
  ["add", "ip-dhcp-host", "<hast/>"],
  ["add", "ip-dhcp-host", "<host id='0:1' name='v6' ip='fd00:249::9'/>", "--parent-index", "1"],
  ["add", "ip-dhcp-host", "<host mac='52:54:00:00:00:07' ip='10.249.0.7'/>", "--parent-index", "3"],
  ["add", "ip-dhcp-host", "<host mac='52:54:00:00:00:08' ip='10.249.0.8'/>", "--parent-index", "0"],
  ["modify", "ip-dhcp-range", "<range start='10.249.0.10' end='10.249.0.20'/>"],
  ["add", "ip-dhcp-range", "<range start='10.249.0.10' end='10.249.0.20'/>"],
  ["add", "ip-dhcp-range", "<range start='10.249.1.10' end='10.249.1.20'/>"],
  ["add-first", "ip-dhcp-range", "<range start='10.249.0.100' end='10.249.0.120'/>"],
  ["delete", "ip-dhcp-range", "<range start='10.249.0.10' end='10.249.0.20'/>"],
  ["delete", "ip-dhcp-range", "<range start='10.249.0.30' end='10.249.0.40'/>"],
  ["add", "dns-host", "<host ip='10.249.0.2'><hostname>x</hostname></host>"],
  ["add", "dns-host", "<host ip='10.249.0.3'><hostname>x</hostname></host>"],
  ["add", "dns-host", "<host ip='10.249.0.3'><hostname>y</hostname></host>"],
  ["add-first", "dns-host", "<host ip='10.249.0.4'><hostname>y</hostname></host>"],
  ["modify", "dns-host", "<host ip='10.249.0.3'><hostname>x</hostname></host>"],
  ["delete", "dns-host", "<host><hostname>x</hostname></host>"],
  ["delete", "dns-host", "<host ip='10.249.0.4'/>"],
  ["delete", "dns-host", "<host ip='10.249.0.9'/>"],
  ["delete", "dns-host", "<host ip='10.249.0.3'><hostname>zz</hostname></host>"],
  ["add", "dns-host", "<host ip='10.249.0.5'/>"],
  ["add", "dns-host", "<host><hostname>q</hostname></host>"],
  ["delete", "dns-host", "<host/>"],
  ["add-first", "dns-txt", "<txt name='t' value='v'/>"],
  ["add", "dns-txt", "<txt name='t' value='w'/>"],
  ["add", "dns-txt", "<txt name='u' value='w'/>"],
  ["delete", "dns-txt", "<txt name='q'/>"],
  ["delete", "dns-txt", "<txt value='v'/>"],
  ["delete", "dns-txt", "<txt name='t'/>"],
  ["modify", "dns-txt", "<txt name='u' value='z'/>"],
  ["add", "dns-srv", "<srv service='s' protocol='tcp'/>"],
  ["add", "dns-srv", "<srv service='s' protocol='tcp'/>"],
  [
    "add",
    "dns-srv",
    "<srv service='s' protocol='udp' domain='d' target='t' port='5' priority='1' weight='2'/>",
  ],
  ["delete", "dns-srv", "<srv service='z'/>"],
  ["delete", "dns-srv", "<srv service='s'/>"],
  ["delete", "dns-srv", "<srv protocol='tcp'/>"],
  ["add", "forward-interface", "<interface dev='eth9'/>"],
  ["add", "forward-interface", "<interface dev='eth9'/>"],
  ["add-first", "forward-interface", "<interface dev='eth8'/>"],
  ["modify", "forward-interface", "<interface dev='eth9'/>"],
  ["add", "forward-interface", "<interface/>"],
  ["delete", "forward-interface", "<interface dev='eth7'/>"],
  ["delete", "forward-interface", "<interface dev='eth8'/>"],
  ["add", "portgroup", "<portgroup name='p' default='yes'/>"],
  ["add", "portgroup", "<portgroup name='q' default='yes'/>"],
  ["add", "portgroup", "<portgroup name='e'/>"],
  ["add", "portgroup", "<portgroup name='p'/>"],
  ["add", "portgroup", "<portgroup/>"],
  [
    "modify",
    "portgroup",
    "<portgroup name='e'><bandwidth><inbound average='100'/></bandwidth></portgroup>",
  ],
  ["delete", "portgroup", "<portgroup name='zz'/>"],
  ["delete", "portgroup", "<portgroup name='p'/>"],
  ["add", "bridge", "<bridge name='x'/>"],
  ["add", "domain", "<domain name='x'/>"],
  ["add", "ip", "<ip/>"],
  ["add", "forward", "<forward/>"],
  ["add", "forward-pf", "<pf/>"],
  ["add", "foo", "<host/>"],
  ["add", "ip_dhcp_host", "<host/>"],
  ["add", "none", "<host/>"],
  ["frob", "ip-dhcp-host", "<host/>"],
  ["none", "ip-dhcp-host", "<host/>"],
  [
    "add",
    "ip-dhcp-host",
    "<host mac='52:54:00:00:00:0b' ip='10.249.0.11'/>",
    "--current",
    "--live",
  ],
  ["add", "ip-dhcp-host", "<host mac='52:54:00:00:00:0b' ip='10.249.0.11'/>", "--config", "--live"],
  [
    "add",
    "ip-dhcp-host",
    "<host mac='52:54:00:00:00:0c' ip='10.249.0.12'/>",
    "--parent-index",
    "x",
  ],
];

testIf(
  "virsh net-update on evirt prints what libvirtd prints and leaves the same XML",
  missing("virsh", LIBVIRTD_SOCKET),
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const evirt = (args: string[]) => runVirsh(uri, args);
    let defined = false;
    try {
      const file = `${base}/update.xml`;
      await Deno.writeTextFile(file, NETWORK);
      const [mine, theirs] = [
        await evirt(["net-define", file]),
        await oracleVirsh(["net-define", file]),
      ];
      defined = theirs.code === 0;
      assertSame(mine, theirs, "net-define");
      for (const words of UPDATES) {
        const args = ["net-update", name, ...words];
        assertSame(await evirt(args), await oracleVirsh(args), words.join(" "));
      }
      // The element may come from a file, as virsh reads it.
      const element = `${base}/host.xml`;
      await Deno.writeTextFile(element, "<host mac='52:54:00:00:00:0d' ip='10.249.0.13'/>");
      const fromFile = ["net-update", name, "add", "ip-dhcp-host", element];
      assertSame(await evirt(fromFile), await oracleVirsh(fromFile), "element from a file");
      const absent = ["net-update", name, "add", "ip-dhcp-host", `${base}/absent.xml`];
      assertSame(await evirt(absent), await oracleVirsh(absent), "missing file");
      for (const dump of [["net-dumpxml", name], ["net-dumpxml", "--inactive", name]]) {
        assertSame(await evirt(dump), await oracleVirsh(dump), dump.join(" "));
      }
      const gone = ["net-update", `${name}-gone`, "add", "dns-txt", "<txt name='a' value='b'/>"];
      assertSame(await evirt(gone), await oracleVirsh(gone), "unknown network");

      // evirt's own CLI, over its HTTP API, prints for a twin network what virsh prints over
      // evirt's socket for the first.
      const env = { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" };
      const twin = `${name}-cli`;
      const twinFile = `${base}/twin.xml`;
      await Deno.writeTextFile(
        twinFile,
        NETWORK.replace(`<name>${name}<`, `<name>${twin}<`)
          .replace(/<uuid>[^<]*<\/uuid>/, `<uuid>${crypto.randomUUID()}</uuid>`)
          .replace(`evu${tag}`, `evc${tag}`),
      );
      assert.equal((await runEvirt(["net-define", twinFile], env)).code, 0);
      for (
        const words of [
          ["add", "dns-txt", "<txt name='cli' value='v'/>"],
          ["add", "dns-txt", "<txt name='cli' value='v'/>"],
          ["delete", "dns-txt", "<txt name='cli'/>", "--config"],
          ["add", "ip-dhcp-host", "<host mac='52:54:00:00:00:0e' ip='10.249.0.14'/>", "--live"],
          ["add", "nowhere", "<host/>"],
        ]
      ) {
        const ours = await runEvirt(["net-update", twin, ...words], env);
        const virsh = await evirt(["net-update", name, ...words]);
        const named = (text: string) => text.replaceAll(twin, name);
        assert.equal(named(ours.stderr), virsh.stderr, `evirt ${words.join(" ")}: stderr`);
        assert.equal(ours.code, virsh.code, `evirt ${words.join(" ")}: exit code`);
        assert.equal(named(ours.stdout), virsh.stdout, `evirt ${words.join(" ")}: stdout`);
      }
    } finally {
      if (defined) await oracleVirsh(["net-undefine", name]);
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

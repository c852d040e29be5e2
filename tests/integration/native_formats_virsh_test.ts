/**
 * `domxml-from-native` / `domxml-to-native` end to end: the real `virsh` over evirt's RPC
 * socket (procedures 135 and 136) prints what evirt's own CLI prints for libvirt's Xen corpus
 * files, both directions and `--domain`; an unknown format answers libvirt's code 8 (compared
 * with libvirtd's own answer where it runs), and the read-only socket refuses (code 29).
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CliRun, runEvirt } from "../support/cli_process.ts";
import { corpusDir, missing, testIf } from "../support/environment.ts";
import { libvirtdSkipReason, oracleVirsh } from "../support/libvirtd.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";

function evirt(service: ServiceProcess, ...args: string[]): Promise<CliRun> {
  return runEvirt(args, { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" });
}

const XL = `${corpusDir}/xlconfigdata`;

/** A QEMU guest whose command line both libvirtd and evirt write. */
const QEMU_XML = `<domain type='qemu'><name>argv</name><memory>65536</memory>` +
  `<uuid>0757be23-9af0-4f15-9dc3-175e174c7684</uuid>` +
  `<os><type arch='x86_64'>hvm</type></os></domain>`;

/**
 * Parts of the command line libvirtd 9.0 writes for {@linkcode QEMU_XML} that evirt's has too
 * (not all of it: evirt writes memory as `-m size=64M` where libvirtd 9.0 writes `-m 64`).
 */
const QEMU_ARGV_PARTS = [
  " -name guest=argv,debug-threads=on -S ",
  " -machine pc-i440fx-",
  " -accel tcg ",
  " -smp 1,sockets=1,cores=1,threads=1 ",
  " -uuid 0757be23-9af0-4f15-9dc3-175e174c7684 ",
  " -no-user-config -nodefaults ",
];
const XM = `${corpusDir}/xmconfigdata`;

testIf(
  "virsh converts native configurations through evirt as evirt's CLI does",
  missing("virsh", XL, XM),
  async (t) => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const readOnlyUri = socketUri(`${dirs.runtimeDir}/libvirt-sock-ro`);
    const both = async (...args: string[]) => {
      const [viaRpc, viaCli] = [await runVirsh(uri, args), await evirt(service, ...args)];
      return { viaRpc, viaCli };
    };
    try {
      await t.step("cfg → XML, both dialects, equals evirt's CLI and libvirt's file", async () => {
        for (
          const [format, file] of [
            ["xen-xl", `${XL}/test-fullvirt-ovmf.cfg`],
            ["xen-xl", `${XL}/test-paravirt-cmdline.cfg`],
            ["xen-xm", `${XM}/test-fullvirt-serial-tcp.cfg`],
          ]
        ) {
          const { viaRpc, viaCli } = await both("domxml-from-native", format, file);
          assert.equal(viaRpc.code, 0, viaRpc.stderr);
          assert.equal(viaCli.code, 0, viaCli.stderr);
          assert.equal(viaRpc.stdout, viaCli.stdout);
          assert.match(viaRpc.stdout, /^<domain type='xen'>\n/);
        }
      });

      await t.step("XML → cfg equals libvirt's expected file", async () => {
        for (
          const [format, stem] of [
            ["xen-xl", `${XL}/test-paravirt-cmdline`],
            ["xen-xm", `${XM}/test-fullvirt-serial-tcp`],
          ]
        ) {
          const { viaRpc, viaCli } = await both("domxml-to-native", format, `${stem}.xml`);
          assert.equal(viaRpc.code, 0, viaRpc.stderr);
          assert.equal(viaCli.code, 0, viaCli.stderr);
          const expected = await Deno.readTextFile(`${stem}.cfg`);
          assert.equal(viaRpc.stdout, `${expected}\n`);
          assert.equal(viaCli.stdout, viaRpc.stdout);
        }
      });

      await t.step("--domain converts a defined domain's XML", async () => {
        const xml = `<domain type='test'><name>native</name><memory>524288</memory>` +
          `<os><type>hvm</type></os></domain>`;
        await Deno.writeTextFile(`${base}/native.xml`, xml);
        const define = await runVirsh(uri, ["define", `${base}/native.xml`]);
        assert.equal(define.code, 0, define.stderr);
        const { viaRpc, viaCli } = await both("domxml-to-native", "xen-xl", "--domain", "native");
        assert.equal(viaRpc.code, 0, viaRpc.stderr);
        assert.equal(viaCli.stdout, viaRpc.stdout);
        assert.match(viaRpc.stdout, /^name = "native"\nuuid = /);
        assert.match(viaRpc.stdout, /\nbuilder = "hvm"\n/);
      });

      await t.step({
        name: "qemu-argv: the QEMU driver's command line of a definition",
        ignore: missing("qemu-system-x86_64") !== undefined,
        fn: async () => {
          await Deno.writeTextFile(`${base}/argv.xml`, QEMU_XML);
          const { viaRpc, viaCli } = await both(
            "domxml-to-native",
            "qemu-argv",
            `${base}/argv.xml`,
          );
          assert.equal(viaRpc.code, 0, viaRpc.stderr);
          assert.equal(viaCli.code, 0, viaCli.stderr);
          assert.equal(viaCli.stdout, viaRpc.stdout);
          for (const part of QEMU_ARGV_PARTS) assert.ok(viaRpc.stdout.includes(part), part);
        },
      });

      await t.step("an interface on a virtual network takes the network's bridge", async () => {
        await Deno.writeTextFile(
          `${base}/natnet.xml`,
          "<network><name>natnet</name><bridge name='virbr-nat9'/></network>",
        );
        const define = await runVirsh(uri, ["net-define", `${base}/natnet.xml`]);
        assert.equal(define.code, 0, define.stderr);
        await Deno.writeTextFile(
          `${base}/onnet.xml`,
          "<domain type='xen'><name>onnet</name><uuid>c7a5fdb2-cdaf-9455-926a-d65c16db1809</uuid>" +
            "<memory>524288</memory>" +
            "<os><type>linux</type></os><devices><interface type='network'>" +
            "<mac address='00:16:3e:00:00:01'/><source network='natnet'/></interface>" +
            "<interface type='network'><mac address='00:16:3e:00:00:02'/>" +
            "<source network='nonet'/></interface></devices></domain>",
        );
        const { viaRpc } = await both("domxml-to-native", "xen-xl", `${base}/onnet.xml`);
        assert.equal(viaRpc.code, 1);
        assert.equal(viaRpc.stderr.trim(), "error: Network not found: nonet");
        const xml = (await Deno.readTextFile(`${base}/onnet.xml`)).replace(
          /<interface type='network'><mac address='00:16:3e:00:00:02'\/><source network='nonet'\/><\/interface>/,
          "",
        );
        await Deno.writeTextFile(`${base}/onnet.xml`, xml);
        const found = await both("domxml-to-native", "xen-xl", `${base}/onnet.xml`);
        assert.equal(found.viaRpc.code, 0, found.viaRpc.stderr);
        assert.equal(found.viaCli.stdout, found.viaRpc.stdout);
        assert.match(
          found.viaRpc.stdout,
          /\nvif = \[ "mac=00:16:3e:00:00:01,bridge=virbr-nat9,script=vif-bridge" \]\n/,
        );
      });

      await t.step("an unknown format answers libvirt's code 8 message", async () => {
        const { viaRpc, viaCli } = await both(
          "domxml-to-native",
          "no-such-format",
          `${XL}/test-paravirt-cmdline.xml`,
        );
        assert.equal(viaRpc.code, 1);
        assert.equal(
          viaRpc.stderr.trim(),
          "error: invalid argument: unsupported config type no-such-format",
        );
        assert.equal(viaCli.code, 1);
        assert.match(viaCli.stderr, /invalid argument: unsupported config type no-such-format/);
        const fromNative = await runVirsh(uri, [
          "domxml-from-native",
          "no-such-format",
          `${XL}/test-paravirt-cmdline.cfg`,
        ]);
        assert.equal(
          fromNative.stderr.trim(),
          "error: invalid argument: unsupported config type no-such-format",
        );
      });

      await t.step("a configuration libvirt refuses is refused with its code", async () => {
        await Deno.writeTextFile(`${base}/bad.cfg`, 'name = "bad"\ntype = "nonsense"\n');
        const run = await runVirsh(uri, ["domxml-from-native", "xen-xl", `${base}/bad.cfg`]);
        assert.equal(run.code, 1);
        assert.equal(
          run.stderr.trim(),
          "error: unsupported configuration: type nonsense is not supported",
        );
      });

      await t.step("test:///default answers code 3, as libvirt's test driver", async () => {
        const testUri = socketUri(`${dirs.runtimeDir}/libvirt-sock`, "test", "default");
        const args = ["domxml-from-native", "xen-xl", `${XL}/test-paravirt-cmdline.cfg`];
        const [viaEvirt, viaLibvirt] = [
          await runVirsh(testUri, args),
          await runVirsh("test:///default", args),
        ];
        assert.equal(viaEvirt.code, 1);
        assert.equal(viaEvirt.stderr, viaLibvirt.stderr);
        assert.match(
          viaEvirt.stderr,
          /not supported by the connection driver: virConnectDomainXMLFromNative/,
        );
      });

      await t.step("the read-only socket refuses both conversions (code 29)", async () => {
        const run = await runVirsh(readOnlyUri, [
          "domxml-from-native",
          "xen-xl",
          `${XL}/test-paravirt-cmdline.cfg`,
        ]);
        assert.equal(run.code, 1);
        assert.match(run.stderr, /operation forbidden/);
      });
    } finally {
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

testIf(
  "an unknown to-native format fails as libvirtd 9.0 fails it",
  libvirtdSkipReason ?? missing(XL),
  async () => {
    const run = await oracleVirsh([
      "domxml-to-native",
      "no-such-format",
      `${XL}/test-paravirt-cmdline.xml`,
    ]);
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr.trim(),
      "error: invalid argument: unsupported config type no-such-format",
    );
  },
);

testIf(
  "qemu-argv holds what libvirtd 9.0 writes for the same definition",
  libvirtdSkipReason ?? missing("qemu-system-x86_64"),
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/argv.xml`, QEMU_XML);
      const run = await oracleVirsh(["domxml-to-native", "qemu-argv", `${dir}/argv.xml`]);
      assert.equal(run.code, 0, run.stderr);
      for (const part of QEMU_ARGV_PARTS) assert.ok(run.stdout.includes(part), part);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

/**
 * evirt's own CLI (`evirt secret-*` over evirt's HTTP API) prints what the real `virsh` prints
 * over evirt's libvirt socket for the same secrets of the same service (which
 * `rpc_secret_virsh_test.ts` compares with libvirtd 9.0): defines and refused defines, the list
 * with every filter, XML with and without `--xpath`, values set from `--base64` and `--file`
 * (base64 and `--plain`) and read back (base64 and `--plain`), undefines, and the failure lines
 * of missing secrets, words that are no uuid, private secrets, absent values and bad options.
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

const uuid = (n: number) => `5ec0e7c1-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;

/** The secrets: file name and XML (a public one, a private one, an ephemeral one, none used). */
const SECRETS: ReadonlyArray<[string, string]> = [
  [
    "ceph",
    `<secret><uuid>${uuid(1)}</uuid><usage type='ceph'><name>cli ceph</name></usage></secret>`,
  ],
  [
    "volume",
    `<secret ephemeral='no' private='yes'><uuid>${uuid(2)}</uuid><description>a &amp; b` +
    `</description><usage type='volume'><volume>/var/lib/cli.img</volume></usage></secret>`,
  ],
  [
    "iscsi",
    `<secret ephemeral='yes'><uuid>${uuid(3)}</uuid>` +
    `<usage type='iscsi'><target>cli-iscsi</target></usage></secret>`,
  ],
  ["none", `<secret><uuid>${uuid(4)}</uuid></secret>`],
];

testIf(
  "evirt's secret verbs print what virsh prints over evirt's socket",
  missing("virsh"),
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const env = { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" };
    const evirt = (args: string[]) => runEvirt(args, env);
    const same = async (...args: string[]) =>
      assertSame(await evirt(args), await runVirsh(uri, args), args.join(" "));
    const file = (name: string, content: string | Uint8Array) => {
      const path = `${base}/${name}`;
      if (typeof content === "string") Deno.writeTextFileSync(path, content);
      else Deno.writeFileSync(path, content);
      return path;
    };
    try {
      const paths = SECRETS.map(([name, xml]) => file(`${name}.xml`, xml));
      // Defines alternate between the two clients; each message is checked against the other.
      const defined = await evirt(["secret-define", paths[0]]);
      assert.equal(defined.stdout, `Secret ${uuid(1)} created\n\n`, defined.stderr);
      await same("secret-define", paths[0]);
      await same("secret-define", "--validate", paths[0]);
      const byVirsh = await runVirsh(uri, ["secret-define", paths[1]]);
      assert.equal(byVirsh.stdout, `Secret ${uuid(2)} created\n\n`, byVirsh.stderr);
      await same("secret-define", paths[2]);
      assert.equal((await evirt(["secret-define", paths[3]])).code, 0);
      // Refused alike: a usage taken, a usage changed, a bad type, no file.
      for (
        const [name, xml] of [
          ["taken", `<secret><usage type='ceph'><name>cli ceph</name></usage></secret>`],
          [
            "changed",
            `<secret><uuid>${uuid(1)}</uuid><usage type='ceph'><name>other</name></usage></secret>`,
          ],
          ["bad-type", `<secret><usage type='bogus'><name>x</name></usage></secret>`],
          ["bad-uuid", `<secret><uuid>nope</uuid></secret>`],
        ]
      ) {
        await same("secret-define", file(`${name}.xml`, xml));
      }
      await same("secret-define", `${base}/absent.xml`);

      for (
        const flags of [
          [],
          ["--ephemeral"],
          ["--no-ephemeral"],
          ["--private"],
          ["--no-private"],
          ["--private", "--no-private"],
          ["--ephemeral", "--no-private"],
        ]
      ) {
        await same("secret-list", ...flags);
      }
      await same("-q", "secret-list");

      for (const secret of [uuid(1), uuid(2), uuid(3), uuid(4), uuid(9), "bogus"]) {
        await same("secret-dumpxml", secret);
        await same("secret-get-value", secret);
      }
      await same("secret-dumpxml", uuid(2), "--xpath", "//usage");
      await same("secret-dumpxml", uuid(2), "--xpath", "//usage/@type", "--wrap");
      await same("secret-dumpxml", uuid(1).replaceAll("-", "").toUpperCase());

      // Values: set by one client, read by both.
      const value = "cli-secret-value";
      const set = await evirt(["secret-set-value", uuid(1), "--base64", btoa(value)]);
      assert.equal(set.stdout, "Secret value set\n\n", set.stderr);
      await same("secret-set-value", uuid(1), "--base64", btoa(value));
      await same("secret-get-value", uuid(1));
      await same("secret-get-value", "--plain", uuid(1));
      assert.equal((await evirt(["secret-get-value", "--plain", uuid(1)])).stdout, `${value}\n`);
      // GLib's lenient base64: junk skipped, a partial group dropped.
      await same("secret-set-value", uuid(3), "--base64", "aGk=*!\nQQ");
      await same("secret-get-value", uuid(3));
      await same("secret-set-value", uuid(4), "--file", file("b64", `${btoa("from file")}\n`));
      await same("secret-get-value", "--plain", uuid(4));
      await same("secret-set-value", uuid(4), "--file", file("raw", "raw bytes\n"), "--plain");
      await same("secret-get-value", uuid(4));
      await same("secret-set-value", uuid(2), "--base64", btoa(value));
      await same("secret-get-value", uuid(2));
      // Refused alike.
      await same("secret-set-value", uuid(4), "--file", file("big", "A".repeat(1025)));
      await same("secret-set-value", uuid(4), "--file", `${base}/absent`);
      await same("secret-set-value", uuid(4));
      await same("secret-set-value", uuid(4), "--file", `${base}/raw`, "--base64", "QQ==");
      await same("secret-set-value", uuid(4), "--plain", "--base64", "QQ==");
      await same("secret-set-value", uuid(4), "--base64", "");
      await same("secret-set-value", uuid(4), "--file", "");
      await same("secret-set-value", uuid(9), "--base64", "QQ==");
      await same("secret-set-value", "bogus", "--base64", "QQ==");
      await same("secret-get-value", uuid(4));

      const gone = await evirt(["secret-undefine", uuid(3)]);
      assert.equal(gone.stdout, `Secret ${uuid(3)} deleted\n\n`, gone.stderr);
      await same("secret-undefine", uuid(3));
      await same("secret-undefine", "bogus");
      const goneByVirsh = await runVirsh(uri, ["secret-undefine", uuid(4)]);
      assert.equal(goneByVirsh.stdout, `Secret ${uuid(4)} deleted\n\n`, goneByVirsh.stderr);
      await same("secret-undefine", uuid(4));
      await same("secret-list");
    } finally {
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

/**
 * The real `virsh` drives evirt's secrets over libvirt's protocol, side by side with the
 * running libvirtd 9.0 on the same secret XML: `secret-define` (each usage type, a private and
 * an ephemeral secret, refused defines), `secret-dumpxml`, `secret-list` with its filters,
 * `secret-set-value` / `secret-get-value` (a private secret's value refused, a secret without a
 * value, a read-only connection refused), `secret-undefine` and `secret-event` print the same. Every secret's
 * usage is named with {@linkcode ORACLE_PREFIX}; each is undefined on libvirtd in `finally`.
 * Afterwards no file of evirt's state directory holds the value in clear.
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

const tag = crypto.randomUUID().slice(0, 8);
const prefix = `${ORACLE_PREFIX}secret-${tag}`;
const uuid = (n: number) => `${tag}-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;

/** The test secrets: file name and XML. */
const SECRETS: ReadonlyArray<[string, string]> = [
  [
    "volume",
    `<secret ephemeral='no' private='yes'><uuid>${uuid(1)}</uuid>` +
    `<description>a &amp; b</description>` +
    `<usage type='volume'><volume>/var/lib/${prefix}.img</volume></usage></secret>`,
  ],
  [
    "ceph",
    `<secret><uuid>${uuid(2)}</uuid><usage type='ceph'><name>${prefix} ceph</name></usage>` +
    `</secret>`,
  ],
  [
    "iscsi",
    `<secret ephemeral='yes'><uuid>${uuid(3)}</uuid>` +
    `<usage type='iscsi'><target>${prefix}-iscsi</target></usage></secret>`,
  ],
  [
    "tls",
    `<secret><uuid>${uuid(4)}</uuid><usage type='tls'><name>${prefix}-tls</name></usage></secret>`,
  ],
  [
    "vtpm",
    `<secret><uuid>${
      uuid(5)
    }</uuid><usage type='vtpm'><name>${prefix}-vtpm</name></usage></secret>`,
  ],
  ["none", `<secret><uuid>${uuid(6)}</uuid></secret>`],
];

/** Defines refused by both. */
const REFUSED: ReadonlyArray<[string, string]> = [
  ["same-usage", `<secret><usage type='ceph'><name>${prefix} ceph</name></usage></secret>`],
  [
    "changed-usage",
    `<secret><uuid>${uuid(2)}</uuid><usage type='ceph'><name>${prefix} other</name></usage>` +
    `</secret>`,
  ],
  [
    "made-public",
    `<secret private='no'><uuid>${
      uuid(1)
    }</uuid><usage type='volume'><volume>/var/lib/${prefix}.img</volume></usage></secret>`,
  ],
  ["bad-type", `<secret><usage type='bogus'><name>x</name></usage></secret>`],
  ["bad-uuid", `<secret><uuid>nope</uuid></secret>`],
  ["bad-flag", `<secret ephemeral='maybe'/>`],
  ["no-volume", `<secret><usage type='volume'></usage></secret>`],
];

/** The passphrase set on the secrets (it must appear in no state file). */
const VALUE = `evirt-${tag}-clear-value`;

testIf(
  "virsh sees evirt's secrets as it sees libvirtd's on the same XML",
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
    const ours = (text: string) => text.split("\n").filter((line) => line.includes(tag)).join("\n");
    try {
      const file = (name: string, xml: string) => {
        const path = `${base}/${name}.xml`;
        Deno.writeTextFileSync(path, xml);
        return path;
      };
      await t.step("secret-define and secret-dumpxml", async () => {
        for (const [name, xml] of SECRETS) {
          const [mine, theirs] = await both("secret-define", file(name, xml));
          if (theirs.code === 0) defined.push(uuid(SECRETS.findIndex(([n]) => n === name) + 1));
          assertSame(mine, theirs, `secret-define ${name}`);
        }
        for (const [index] of SECRETS.entries()) {
          assertSame(...await both("secret-dumpxml", uuid(index + 1)), `dumpxml ${index + 1}`);
        }
      });
      await t.step("refused defines", async () => {
        for (const [name, xml] of REFUSED) {
          const [mine, theirs] = await both("secret-define", file(name, xml));
          if (theirs.code === 0) {
            const made = /Secret (\S+) created/.exec(theirs.stdout)?.[1];
            if (made !== undefined) await oracleVirsh(["secret-undefine", made]);
          }
          assert.equal(mine.code, theirs.code, `${name}: exit codes`);
          assert.equal(mine.stderr, theirs.stderr, `${name}: stderr`);
        }
      });
      await t.step("secret-list and its filters", async () => {
        for (
          const flags of [[], ["--ephemeral"], ["--no-ephemeral"], ["--private"], ["--no-private"]]
        ) {
          const [mine, theirs] = await both("secret-list", ...flags);
          assert.equal(mine.code, theirs.code, `secret-list ${flags.join(" ")}`);
          assert.equal(ours(mine.stdout), ours(theirs.stdout), `secret-list ${flags.join(" ")}`);
        }
      });
      await t.step("values: set, get, private, missing, read-only", async () => {
        const encoded = btoa(VALUE);
        for (const index of [1, 2]) {
          assertSame(
            ...await both("secret-set-value", uuid(index), "--base64", encoded),
            `set-value ${index}`,
          );
          assertSame(...await both("secret-get-value", uuid(index)), `get-value ${index}`);
        }
        assertSame(...await both("secret-get-value", uuid(4)), "get-value without a value");
        assertSame(
          ...await both("secret-get-value", "11111111-2222-3333-4444-555555555555"),
          "get-value of no secret",
        );
        const readOnly = await runVirsh(uri, ["-r", "secret-get-value", uuid(2)]);
        const theirsReadOnly = await oracleVirsh(["-r", "secret-get-value", uuid(2)]);
        assertSame(readOnly, theirsReadOnly, "read-only get-value");
      });
      await t.step("secret-undefine", async () => {
        assertSame(...await both("secret-undefine", uuid(3)), "undefine");
        defined.splice(defined.indexOf(uuid(3)), 1);
        const [mine, theirs] = await both("secret-list");
        assert.equal(ours(mine.stdout), ours(theirs.stdout), "secret-list after undefine");
      });
      await t.step("secret-event: lifecycle and value-changed events", async () => {
        const watches = ["lifecycle", "value-changed"].map((event) => [
          "secret-event",
          "--event",
          event,
          "--loop",
          "--timeout",
          "6",
        ]);
        const watching = watches.flatMap((watch) => [evirt(...watch), oracleVirsh(watch)]);
        // Both watchers register before the changes.
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        const path = file("events", `<secret><uuid>${uuid(7)}</uuid></secret>`);
        // Undefined in `finally` should the step fail half-way (a second undefine only fails).
        defined.push(uuid(7));
        for (
          const args of [
            ["secret-define", path],
            ["secret-set-value", uuid(7), "--base64", btoa(VALUE)],
            ["secret-undefine", uuid(7)],
          ]
        ) {
          const [mine, theirs] = await both(...args);
          assertSame(mine, theirs, args[0]);
        }
        const [mineLifecycle, theirsLifecycle, mineValue, theirsValue] = await Promise.all(
          watching,
        );
        assertSame(mineLifecycle, theirsLifecycle, "secret-event --event lifecycle");
        assertSame(mineValue, theirsValue, "secret-event --event value-changed");
        assert.match(mineValue.stdout, new RegExp(`event 'value-changed' for secret ${uuid(7)}`));
      });
      await t.step("no state file holds the value in clear", () => {
        const needle = new TextEncoder().encode(VALUE);
        const found: string[] = [];
        const walk = (dir: string) => {
          for (const entry of Deno.readDirSync(dir)) {
            const path = `${dir}/${entry.name}`;
            if (entry.isDirectory) walk(path);
            else if (entry.isFile && contains(Deno.readFileSync(path), needle)) found.push(path);
          }
        };
        walk(dirs.stateDir);
        assert.deepEqual(found, []);
      });
    } finally {
      for (const secret of defined) await oracleVirsh(["secret-undefine", secret]);
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let start = 0; start + needle.length <= haystack.length; start++) {
    for (let index = 0; index < needle.length; index++) {
      if (haystack[start + index] !== needle[index]) continue outer;
    }
    return true;
  }
  return false;
}

import assert from "node:assert/strict";
import { type MirroredJob, withBlockJobMirrors } from "../../../src/model/block_jobs.ts";
import type { DomainDefinition } from "../../../src/model/domain.ts";
import { formatDomainXml } from "../../../src/xml/format_domain.ts";
import { parseDomainXml } from "../../../src/xml/parse_domain.ts";
import { domainSchemaPath } from "../../conformance/xml_corpus.ts";
import { missing, testIf } from "../../support/environment.ts";
import { withTempDir } from "../../support/temp_dir.ts";

const DOMAIN = `<domain type='qemu'><name>m</name><memory>131072</memory><os><type>hvm</type></os>
<devices>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/i/top.qcow2'/><target dev='vda' bus='virtio'/></disk>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/i/b.qcow2'/><target dev='vdb' bus='virtio'/></disk>
</devices></domain>`;

const base = { type: "file" as const, path: "/i/base.raw", format: "raw", index: 2 };

function copyJob(phase: MirroredJob["phase"], pivot?: boolean): MirroredJob {
  const destination = { type: "file" as const, path: "/i/copy.qcow2", format: "qcow2", index: 3 };
  return {
    disk: "vda",
    type: "copy",
    phase,
    ...(pivot === undefined ? {} : { pivot }),
    destination,
    result: { top: destination, backing: [] },
  };
}

const ACTIVE_COMMIT: MirroredJob = {
  disk: "vdb",
  type: "active_commit",
  phase: "running",
  result: { top: base, backing: [] },
};

function mirrorOf(definition: DomainDefinition, index: number): string | undefined {
  const xml = formatDomainXml(definition);
  return xml.split("<disk ")[index + 1]?.match(/<mirror[\s\S]*?<\/mirror>/)?.[0];
}

Deno.test("a block copy shows its destination as the disk's <mirror>, ready='yes' once synchronized", () => {
  const live = withBlockJobMirrors(parseDomainXml(DOMAIN), { vda: copyJob("ready") });
  assert.equal(
    mirrorOf(live, 0),
    `<mirror type='file' file='/i/copy.qcow2' format='qcow2' job='copy' ready='yes'>
        <format type='qcow2'/>
        <source file='/i/copy.qcow2' index='3'/>
      </mirror>`,
  );
  assert.equal(mirrorOf(live, 1), undefined, "a disk without a job has no mirror");
});

Deno.test("an active commit's mirror is its base, without the copy's file attributes", () => {
  const live = withBlockJobMirrors(parseDomainXml(DOMAIN), { vdb: ACTIVE_COMMIT });
  assert.equal(
    mirrorOf(live, 1),
    `<mirror type='file' job='active-commit'>
        <format type='raw'/>
        <source file='/i/base.raw' index='2'/>
      </mirror>`,
  );
});

Deno.test("a mirror being ended says pivot or abort; a pull or plain commit has none", () => {
  const definition = parseDomainXml(DOMAIN);
  assert.match(
    mirrorOf(withBlockJobMirrors(definition, { vda: copyJob("ending", true) }), 0)!,
    /ready='pivot'/,
  );
  assert.match(
    mirrorOf(withBlockJobMirrors(definition, { vda: copyJob("ending", false) }), 0)!,
    /ready='abort'/,
  );
  assert.doesNotMatch(
    mirrorOf(withBlockJobMirrors(definition, { vda: copyJob("running") }), 0)!,
    /ready=/,
  );
  const pull: MirroredJob = { ...ACTIVE_COMMIT, disk: "vda", type: "pull" };
  assert.equal(withBlockJobMirrors(definition, { vda: pull }), definition);
});

Deno.test("the mirror is live only: inactive XML leaves it out and a definition's is ignored", () => {
  const live = withBlockJobMirrors(parseDomainXml(DOMAIN), { vda: copyJob("ready") });
  assert.doesNotMatch(formatDomainXml(live, { inactive: true }), /<mirror/);
  const reparsed = parseDomainXml(formatDomainXml(live));
  assert.equal(reparsed.devices.disks[0].mirror, undefined);
});

testIf(
  "the live XML with mirrors validates against libvirt's domain schema",
  missing("xmllint") ?? missing(domainSchemaPath),
  async () => {
    await withTempDir("evirt-mirror-", async (dir) => {
      const jobs = { vda: copyJob("ready"), vdb: ACTIVE_COMMIT };
      const path = `${dir}/live.xml`;
      await Deno.writeTextFile(
        path,
        formatDomainXml(withBlockJobMirrors(parseDomainXml(DOMAIN), jobs)),
      );
      const output = await new Deno.Command("xmllint", {
        args: ["--noout", "--relaxng", domainSchemaPath, path],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    });
  },
);

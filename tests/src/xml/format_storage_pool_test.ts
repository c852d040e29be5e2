import assert from "node:assert/strict";
import type { PoolType } from "../../../src/model/storage_pool.ts";
import { formatPoolCapabilities } from "../../../src/xml/format_pool_capabilities.ts";
import { formatPoolXml } from "../../../src/xml/format_storage_pool.ts";
import { parsePoolXml } from "../../../src/xml/parse_storage_pool.ts";
import { libvirtdSkipReason, ORACLE_PREFIX, oracleVirsh } from "../../support/libvirtd.ts";
import { testIf } from "../../support/environment.ts";
import { withTempDir } from "../../support/temp_dir.ts";

const UUID = "70a7eb15-6c34-ee9c-bf57-69e8e5ff3fb2";

/**
 * Pool documents beyond the corpus, each formatted by libvirtd for comparison (types whose
 * backend Debian's libvirtd has: no rbd, gluster or iscsi-direct).
 */
const ORACLE_CASES: Record<string, string> = {
  "fs-namespace": `<pool type='fs' xmlns:fs='http://libvirt.org/schemas/storagepool/fs/1.0'>
  <name>NAME</name><uuid>${UUID}</uuid>
  <features><cow state='no'/></features>
  <source><device path='/dev/loop7'/><format type='ext4'/><vendor name='v&amp;'/><product name='p'/></source>
  <target><path>/mnt//x/</path><permissions><owner>107</owner><mode>755</mode></permissions></target>
  <fs:mount_opts><fs:option name='sync'/><fs:option name='noatime'/></fs:mount_opts>
</pool>`,
  "scsi-fc": `<pool type='scsi'><name>NAME</name><uuid>${UUID}</uuid>
  <source><adapter type='fc_host' parent_wwnn='20000000c9831b4b' parent_wwpn='10000000c9831b4b'
   managed='yes' wwnn='20000000c9831b4c' wwpn='10000000c9831b4c'/></source>
  <target><path>/dev/disk/by-path</path></target></pool>`,
  "iscsi-chap": `<pool type='iscsi'><name>NAME</name><uuid>${UUID}</uuid>
  <source><host name='t.example.com' port='3260'/><device path='iqn.2013-06.com.example:t'/>
  <auth type='chap' username='u'><secret usage='libvirtiscsi'/></auth>
  <initiator><iqn name='iqn.2013-06.com.example:i'/></initiator></source>
  <target><path>/dev/disk/by-path</path><permissions><label>l</label></permissions></target></pool>`,
  "netfs-cifs": `<pool type='netfs'><name>NAME</name><uuid>${UUID}</uuid>
  <source><host name='h'/><dir path='//share//x/'/><format type='cifs'/></source>
  <target><path>/mnt/c</path><permissions><mode>0</mode><group>-1</group></permissions></target>
  <refresh><volume allocation='default'/></refresh></pool>`,
  "logical-devices": `<pool type='logical'><uuid>${UUID}</uuid>
  <source><name>NAME</name><device path='/dev/sdz1'/><device path='/dev/sdz2'/></source>
  <target><path>/ignored</path></target></pool>`,
  "disk-default-format": `<pool type='disk'><name>NAME</name><uuid>${UUID}</uuid>
  <source><device path='/dev/sdz' part_separator='yes'/></source><target><path>/dev</path></target></pool>`,
  "dir-bare":
    `<pool type='dir'><name>NAME</name><uuid>${UUID}</uuid><target><path>//srv/p</path></target></pool>`,
};

for (const [label, template] of Object.entries(ORACLE_CASES)) {
  testIf(`formatPoolXml writes ${label} as libvirtd does`, libvirtdSkipReason, async () => {
    const name = `${ORACLE_PREFIX}storage14-${label}`;
    const xml = template.replace("NAME", name);
    await withTempDir("evirt-pool-oracle-", async (dir) => {
      const file = `${dir}/pool.xml`;
      await Deno.writeTextFile(file, xml);
      const defined = await oracleVirsh(["pool-define", file]);
      assert.equal(defined.code, 0, defined.stderr);
      try {
        const dumped = await oracleVirsh(["pool-dumpxml", "--inactive", name]);
        assert.equal(dumped.code, 0, dumped.stderr);
        assert.equal(formatPoolXml(parsePoolXml(xml)) + "\n", dumped.stdout);
      } finally {
        await oracleVirsh(["pool-undefine", name]);
      }
    });
  });
}

Deno.test("parsePoolXml refuses a name with a slash (code 27)", () => {
  assert.throws(
    () => parsePoolXml("<pool type='dir'><name>a/b</name><target><path>/x</path></target></pool>"),
    { code: 27, message: "name a/b cannot contain '/'" },
  );
});

Deno.test("parsePoolXml refuses a dir pool without a target path (code 27)", () => {
  assert.throws(() => parsePoolXml("<pool type='dir'><name>a</name></pool>"), {
    code: 27,
    message: "missing storage pool target path",
    where: "/pool/target/path",
  });
});

Deno.test("parsePoolXml refuses an unknown pool type", () => {
  assert.throws(() => parsePoolXml("<pool type='tape'><name>a</name></pool>"), { code: 27 });
});

Deno.test("parsePoolXml refuses a mode beyond 0777", () => {
  assert.throws(
    () =>
      parsePoolXml(
        "<pool type='dir'><name>a</name><target><path>/x</path><permissions><mode>1777</mode></permissions></target></pool>",
      ),
    { code: 27, message: "malformed octal mode" },
  );
});

Deno.test("parsePoolXml refuses an element it does not know, naming it", () => {
  assert.throws(
    () =>
      parsePoolXml(
        "<pool type='dir'><name>a</name><target><path>/x</path></target><bogus/></pool>",
      ),
    { code: 67, where: "/pool/bogus" },
  );
});

Deno.test("parsePoolXml requires a device for fs pools", () => {
  assert.throws(
    () => parsePoolXml("<pool type='fs'><name>a</name><target><path>/x</path></target></pool>"),
    { code: 27, message: "missing storage pool source device name" },
  );
});

Deno.test("parsePoolXml gives a pool without a uuid a fresh one", () => {
  const xml = "<pool type='dir'><name>a</name><target><path>/x</path></target></pool>";
  assert.notEqual(parsePoolXml(xml).uuid, parsePoolXml(xml).uuid);
});

Deno.test("formatPoolXml writes live figures in bytes", () => {
  const pool = parsePoolXml(
    `<pool type='dir'><name>a</name><uuid>${UUID}</uuid><target><path>/x</path></target></pool>`,
  );
  const text = formatPoolXml(pool, { capacityBytes: 10n, allocationBytes: 4n, availableBytes: 6n });
  const lines = text.split("\n").slice(3, 6).map((line) => line.trim());
  assert.deepEqual(lines, [
    "<capacity unit='bytes'>10</capacity>",
    "<allocation unit='bytes'>4</allocation>",
    "<available unit='bytes'>6</available>",
  ]);
});

testIf(
  "formatPoolCapabilities writes libvirtd's pool-capabilities for the same backends",
  libvirtdSkipReason,
  async () => {
    const theirs = await oracleVirsh(["pool-capabilities"]);
    assert.equal(theirs.code, 0, theirs.stderr);
    const supported = new Set(
      [...theirs.stdout.matchAll(/<pool type='([a-z-]+)' supported='yes'>/g)].map((match) =>
        match[1] as PoolType
      ),
    );
    assert.ok(supported.has("dir"));
    // virsh prints the document and two more line ends.
    assert.equal(formatPoolCapabilities(supported) + "\n\n", theirs.stdout);
  },
);

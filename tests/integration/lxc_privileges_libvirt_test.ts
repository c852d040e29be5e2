/**
 * A container definition with `<idmap>`, `<inituser>`, `<initgroup>`, `<initdir>` and
 * `<features><capabilities>` defined in evirt and in libvirt 9.0's LXC driver
 * (`lxc:///system`): `dumpxml` agrees, but for the emulator's path (Debian builds libvirt's
 * controller into another folder). libvirt's driver cannot start containers on this host (its
 * controller fails on the cgroup layout, see `lxc_libvirt_test.ts`), so the running comparison
 * is left to `lxc_privileges_test.ts` against libvirt's rules. The domain defined in libvirtd is
 * undefined in `finally`.
 */

import assert from "node:assert/strict";
import { runEvirt } from "../support/cli_process.ts";
import { ORACLE_PREFIX } from "../support/libvirtd.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";
import { runVirsh } from "../support/virsh.ts";
import { testIf } from "../support/environment.ts";
import { libvirtLxcSkipReason, LXC_URI, rootfsDir, TEST_INIT } from "./_lxc_rig.ts";

const NAME = `${ORACLE_PREFIX}ct-priv`;

const XML = `<domain type='lxc'>
  <name>${NAME}</name>
  <uuid>5a1e0000-0000-4000-a000-00000000c702</uuid>
  <memory unit='KiB'>65536</memory>
  <os>
    <type>exe</type>
    <init>${TEST_INIT}</init>
    <initarg>one</initarg>
    <initenv name='EVIRT_TEST_ENV'>two</initenv>
    <initgroup>wheel</initgroup>
    <inituser>alice</inituser>
    <initdir>/tmp</initdir>
  </os>
  <idmap>
    <gid start='0' target='100000' count='65536'/>
    <uid start='1000' target='200000' count='10'/>
    <uid start='0' target='100000' count='1000'/>
  </idmap>
  <features>
    <capabilities policy='deny'>
      <sys_admin state='on'/>
      <kill/>
      <chown state='off'/>
    </capabilities>
  </features>
  <devices>
    <filesystem type='mount'><source dir='${rootfsDir}'/><target dir='/'/></filesystem>
    <console type='pty'/>
  </devices>
</domain>
`;

/** The document without the emulator's path. */
function comparable(xml: string): string {
  return xml.replace(/<emulator>[^<]*<\/emulator>/, "<emulator/>");
}

testIf(
  "idmap, init user, group and folder, and capabilities round-trip as libvirt's LXC driver",
  await libvirtLxcSkipReason(),
  async () => {
    const dirs = await serviceDirs();
    const xmlPath = `${dirs.stateDir}/../ct-priv.xml`;
    Deno.writeTextFileSync(xmlPath, XML);
    let service: ServiceProcess | undefined;
    try {
      service = await startServiceProcess(dirs);
      const env = { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" };
      const defined = await runVirsh(LXC_URI, ["define", xmlPath]);
      assert.equal(defined.code, 0, defined.stderr);
      const ours = await runEvirt(["define", xmlPath], env);
      assert.equal(ours.code, 0, ours.stderr);
      const expected = await runVirsh(LXC_URI, ["dumpxml", NAME]);
      const actual = await runEvirt(["dumpxml", NAME], env);
      assert.equal(actual.code, 0, actual.stderr);
      assert.equal(comparable(actual.stdout), comparable(expected.stdout));
      assert.match(
        expected.stdout,
        /<uid start='0' target='100000' count='1000'\/>\n\s*<uid start='1000'/,
      );
    } finally {
      await runVirsh(LXC_URI, ["undefine", NAME]);
      if (service !== undefined) await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

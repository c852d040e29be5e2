/**
 * Autostart after a host's boot goes as libvirt's drivers go, one after the other: storage pools
 * (and networks) first, then the domains that use them, so a domain whose disk is a pool's
 * volume starts at boot instead of failing for want of its pool.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runEvirt } from "../support/cli_process.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";

async function ok(args: string[], env: Record<string, string>): Promise<string> {
  const run = await runEvirt(args, env);
  assert.equal(run.code, 0, `evirt ${args.join(" ")}: ${run.stderr}`);
  return run.stdout;
}

Deno.test("after a boot, a domain on an autostarted pool's volume autostarts with it", async () => {
  const dirs = await serviceDirs();
  const base = dirs.stateDir.replace(/\/state$/, "");
  let service: ServiceProcess | undefined = await startServiceProcess(dirs);
  try {
    const env = { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" };
    const poolXml = `${base}/pool.xml`;
    await Deno.writeTextFile(
      poolXml,
      `<pool type='dir'><name>boot</name><target><path>${base}/pool</path></target></pool>`,
    );
    await ok(["pool-define", poolXml], env);
    await ok(["pool-build", "boot"], env);
    await ok(["pool-start", "boot"], env);
    await ok(["pool-autostart", "boot"], env);
    await ok(["vol-create-as", "boot", "disk.raw", "1M"], env);
    const domainXml = `${base}/domain.xml`;
    await Deno.writeTextFile(
      domainXml,
      `<domain type='test'><name>onvol</name><memory>65536</memory><vcpu>1</vcpu>` +
        `<os><type>hvm</type></os><devices><disk type='volume' device='disk'>` +
        `<source pool='boot' volume='disk.raw'/><target dev='vda' bus='virtio'/></disk>` +
        `</devices></domain>`,
    );
    await ok(["define", domainXml], env);
    await ok(["autostart", "onvol"], env);

    await service.stop("SIGTERM");
    service = undefined;
    // A boot: the runtime folder's marker is gone, so the next start autostarts.
    Deno.removeSync(`${dirs.runtimeDir}/autostarted`);
    service = await startServiceProcess(dirs);
    const after = { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" };
    assert.equal((await ok(["domstate", "onvol", "--reason"], after)).trim(), "running (booted)");
    assert.match(await ok(["pool-list", "--all"], after), /^ boot +active +yes$/m);
  } finally {
    await service?.stop("SIGTERM");
    await removeServiceDirs(dirs);
  }
});

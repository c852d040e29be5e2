/**
 * The CLI's verbs by name, each loaded only when it runs: one `evirt list` reads the client, the
 * list verb and its layout, never the service, the XML schema tables or QEMU's argv code. Every
 * import is a static string to a local file, so `deno compile` bundles them all.
 *
 * The names are the operations table's verbs plus the CLI's own (`daemon`): a verb the table
 * does not name, or a table verb with no loader here, fails to compile.
 *
 * @module
 */

import type { OperationVerb } from "../model/operations.ts";
import type { Verb } from "./verb.ts";

/**
 * Verbs that are no operation of the service: `daemon` runs the service itself, `log` checks,
 * exports and imports the event log of a state directory offline, `config` shows the effective
 * configuration, `completion` and `man` print the shell completion scripts and the man page
 * generated from this table.
 */
export const CLI_ONLY_VERBS = ["completion", "config", "daemon", "log", "man"] as const;

/** Every verb's name. */
export type VerbName = OperationVerb | (typeof CLI_ONLY_VERBS)[number];

/** Loads each verb's module on demand. */
export const VERB_LOADERS: { readonly [Name in VerbName]: () => Promise<Verb> } = {
  "attach-device": () =>
    import("./verbs/attach-device.ts").then((module) => module.attachDeviceVerb),
  "attach-disk": () => import("./verbs/attach-disk.ts").then((module) => module.attachDiskVerb),
  "attach-interface": () =>
    import("./verbs/attach-interface.ts").then((module) => module.attachInterfaceVerb),
  "change-media": () => import("./verbs/change-media.ts").then((module) => module.changeMediaVerb),
  "detach-device": () =>
    import("./verbs/detach-device.ts").then((module) => module.detachDeviceVerb),
  "detach-device-alias": () =>
    import("./verbs/detach-device-alias.ts").then((module) => module.detachDeviceAliasVerb),
  "detach-disk": () => import("./verbs/detach-disk.ts").then((module) => module.detachDiskVerb),
  "detach-interface": () =>
    import("./verbs/detach-interface.ts").then((module) => module.detachInterfaceVerb),
  "snapshot-create": () =>
    import("./verbs/snapshot-create.ts").then((module) => module.snapshotCreateVerb),
  "snapshot-create-as": () =>
    import("./verbs/snapshot-create-as.ts").then((module) => module.snapshotCreateAsVerb),
  "snapshot-current": () =>
    import("./verbs/snapshot-current.ts").then((module) => module.snapshotCurrentVerb),
  "snapshot-delete": () =>
    import("./verbs/snapshot-delete.ts").then((module) => module.snapshotDeleteVerb),
  "snapshot-edit": () =>
    import("./verbs/snapshot-edit.ts").then((module) => module.snapshotEditVerb),
  "snapshot-dumpxml": () =>
    import("./verbs/snapshot-dumpxml.ts").then((module) => module.snapshotDumpxmlVerb),
  "snapshot-info": () =>
    import("./verbs/snapshot-info.ts").then((module) => module.snapshotInfoVerb),
  "snapshot-list": () =>
    import("./verbs/snapshot-list.ts").then((module) => module.snapshotListVerb),
  "snapshot-parent": () =>
    import("./verbs/snapshot-parent.ts").then((module) => module.snapshotParentVerb),
  "snapshot-revert": () =>
    import("./verbs/snapshot-revert.ts").then((module) => module.snapshotRevertVerb),
  "update-device": () =>
    import("./verbs/update-device.ts").then((module) => module.updateDeviceVerb),
  managedsave: () => import("./verbs/managedsave.ts").then((module) => module.managedsaveVerb),
  "managedsave-remove": () =>
    import("./verbs/managedsave-remove.ts").then((module) => module.managedsaveRemoveVerb),
  "managedsave-dumpxml": () =>
    import("./verbs/managedsave-dumpxml.ts").then((module) => module.managedsaveDumpxmlVerb),
  "managedsave-define": () =>
    import("./verbs/managedsave-define.ts").then((module) => module.managedsaveDefineVerb),
  save: () => import("./verbs/save.ts").then((module) => module.saveVerb),
  restore: () => import("./verbs/restore.ts").then((module) => module.restoreVerb),
  "save-image-dumpxml": () =>
    import("./verbs/save-image-dumpxml.ts").then((module) => module.saveImageDumpxmlVerb),
  "save-image-define": () =>
    import("./verbs/save-image-define.ts").then((module) => module.saveImageDefineVerb),
  "save-image-edit": () =>
    import("./verbs/save-image-edit.ts").then((module) => module.saveImageEditVerb),
  autostart: () => import("./verbs/autostart.ts").then((module) => module.autostartVerb),
  capabilities: () => import("./verbs/capabilities.ts").then((module) => module.capabilitiesVerb),
  console: () => import("./verbs/console.ts").then((module) => module.consoleVerb),
  create: () => import("./verbs/create.ts").then((module) => module.createVerb),
  completion: () => import("./verbs/completion.ts").then((module) => module.completionVerb),
  daemon: () => import("./verbs/daemon.ts").then((module) => module.daemonVerb),
  man: () => import("./verbs/man.ts").then((module) => module.manVerb),
  define: () => import("./verbs/define.ts").then((module) => module.defineVerb),
  desc: () => import("./verbs/desc.ts").then((module) => module.descVerb),
  destroy: () => import("./verbs/destroy.ts").then((module) => module.destroyVerb),
  domcapabilities: () =>
    import("./verbs/domcapabilities.ts").then((module) => module.domcapabilitiesVerb),
  domdisplay: () => import("./verbs/domdisplay.ts").then((module) => module.domdisplayVerb),
  domblkerror: () => import("./verbs/domblkerror.ts").then((module) => module.domblkerrorVerb),
  domblkinfo: () => import("./verbs/domblkinfo.ts").then((module) => module.domblkinfoVerb),
  domblklist: () => import("./verbs/domblklist.ts").then((module) => module.domblklistVerb),
  domblkstat: () => import("./verbs/domblkstat.ts").then((module) => module.domblkstatVerb),
  domifaddr: () => import("./verbs/domifaddr.ts").then((module) => module.domifaddrVerb),
  domiflist: () => import("./verbs/domiflist.ts").then((module) => module.domiflistVerb),
  "domif-getlink": () =>
    import("./verbs/domif-getlink.ts").then((module) => module.domifGetlinkVerb),
  "domif-setlink": () =>
    import("./verbs/domif-setlink.ts").then((module) => module.domifSetlinkVerb),
  domrename: () => import("./verbs/domrename.ts").then((module) => module.domrenameVerb),
  edit: () => import("./verbs/edit.ts").then((module) => module.editVerb),
  "qemu-agent-command": () =>
    import("./verbs/qemu-agent-command.ts").then((module) => module.qemuAgentCommandVerb),
  "qemu-monitor-command": () =>
    import("./verbs/qemu-monitor-command.ts").then((module) => module.qemuMonitorCommandVerb),
  screenshot: () => import("./verbs/screenshot.ts").then((module) => module.screenshotVerb),
  "send-key": () => import("./verbs/send-key.ts").then((module) => module.sendKeyVerb),
  perf: () => import("./verbs/perf.ts").then((module) => module.perfVerb),
  schedinfo: () => import("./verbs/schedinfo.ts").then((module) => module.schedinfoVerb),
  domiftune: () => import("./verbs/domiftune.ts").then((module) => module.domiftuneVerb),
  domjobinfo: () => import("./verbs/domjobinfo.ts").then((module) => module.domjobinfoVerb),
  domjobabort: () => import("./verbs/domjobabort.ts").then((module) => module.domjobabortVerb),
  setmem: () => import("./verbs/setmem.ts").then((module) => module.setmemVerb),
  setmaxmem: () => import("./verbs/setmaxmem.ts").then((module) => module.setmaxmemVerb),
  setvcpus: () => import("./verbs/setvcpus.ts").then((module) => module.setvcpusVerb),
  vcpucount: () => import("./verbs/vcpucount.ts").then((module) => module.vcpucountVerb),
  blockresize: () => import("./verbs/blockresize.ts").then((module) => module.blockresizeVerb),
  blockcommit: () => import("./verbs/blockcommit.ts").then((module) => module.blockcommitVerb),
  blockpull: () => import("./verbs/blockpull.ts").then((module) => module.blockpullVerb),
  blockcopy: () => import("./verbs/blockcopy.ts").then((module) => module.blockcopyVerb),
  blockjob: () => import("./verbs/blockjob.ts").then((module) => module.blockjobVerb),
  domid: () => import("./verbs/domid.ts").then((module) => module.domidVerb),
  domifstat: () => import("./verbs/domifstat.ts").then((module) => module.domifstatVerb),
  dominfo: () => import("./verbs/dominfo.ts").then((module) => module.dominfoVerb),
  dommemstat: () => import("./verbs/dommemstat.ts").then((module) => module.dommemstatVerb),
  domname: () => import("./verbs/domname.ts").then((module) => module.domnameVerb),
  domstate: () => import("./verbs/domstate.ts").then((module) => module.domstateVerb),
  domstats: () => import("./verbs/domstats.ts").then((module) => module.domstatsVerb),
  domuuid: () => import("./verbs/domuuid.ts").then((module) => module.domuuidVerb),
  dumpxml: () => import("./verbs/dumpxml.ts").then((module) => module.dumpxmlVerb),
  "domxml-from-native": () =>
    import("./verbs/domxml-from-native.ts").then((module) => module.domxmlFromNativeVerb),
  "domxml-to-native": () =>
    import("./verbs/domxml-to-native.ts").then((module) => module.domxmlToNativeVerb),
  event: () => import("./verbs/event.ts").then((module) => module.eventVerb),
  host: () => import("./verbs/host.ts").then((module) => module.hostVerb),
  hostname: () => import("./verbs/hostname.ts").then((module) => module.hostnameVerb),
  list: () => import("./verbs/list.ts").then((module) => module.listVerb),
  log: () => import("./verbs/log.ts").then((module) => module.logVerb),
  config: () => import("./verbs/config.ts").then((module) => module.configVerb),
  metadata: () => import("./verbs/metadata.ts").then((module) => module.metadataVerb),
  migrate: () => import("./verbs/migrate.ts").then((module) => module.migrateVerb),
  "migrate-setspeed": () =>
    import("./verbs/migrate-setspeed.ts").then((module) => module.migrateSetspeedVerb),
  "migrate-getspeed": () =>
    import("./verbs/migrate-getspeed.ts").then((module) => module.migrateGetspeedVerb),
  "migrate-setmaxdowntime": () =>
    import("./verbs/migrate-setmaxdowntime.ts").then((module) => module.migrateSetmaxdowntimeVerb),
  "migrate-getmaxdowntime": () =>
    import("./verbs/migrate-getmaxdowntime.ts").then((module) => module.migrateGetmaxdowntimeVerb),
  nodeinfo: () => import("./verbs/nodeinfo.ts").then((module) => module.nodeinfoVerb),
  reboot: () => import("./verbs/reboot.ts").then((module) => module.rebootVerb),
  reset: () => import("./verbs/reset.ts").then((module) => module.resetVerb),
  resume: () => import("./verbs/resume.ts").then((module) => module.resumeVerb),
  shutdown: () => import("./verbs/shutdown.ts").then((module) => module.shutdownVerb),
  start: () => import("./verbs/start.ts").then((module) => module.startVerb),
  suspend: () => import("./verbs/suspend.ts").then((module) => module.suspendVerb),
  undefine: () => import("./verbs/undefine.ts").then((module) => module.undefineVerb),
  "net-list": () => import("./verbs/net-list.ts").then((module) => module.netListVerb),
  "net-update": () => import("./verbs/net-update.ts").then((module) => module.netUpdateVerb),
  "net-dhcp-leases": () =>
    import("./verbs/net-dhcp-leases.ts").then((module) => module.netDhcpLeasesVerb),
  "net-port-create": () =>
    import("./verbs/net-port-create.ts").then((module) => module.netPortCreateVerb),
  "net-port-list": () =>
    import("./verbs/net-port-list.ts").then((module) => module.netPortListVerb),
  "net-port-dumpxml": () =>
    import("./verbs/net-port-dumpxml.ts").then((module) => module.netPortDumpxmlVerb),
  "net-port-delete": () =>
    import("./verbs/net-port-delete.ts").then((module) => module.netPortDeleteVerb),
  "net-info": () => import("./verbs/net-info.ts").then((module) => module.netInfoVerb),
  "net-uuid": () => import("./verbs/net-uuid.ts").then((module) => module.netUuidVerb),
  "net-name": () => import("./verbs/net-name.ts").then((module) => module.netNameVerb),
  "net-dumpxml": () => import("./verbs/net-dumpxml.ts").then((module) => module.netDumpxmlVerb),
  "net-define": () => import("./verbs/net-define.ts").then((module) => module.netDefineVerb),
  "net-create": () => import("./verbs/net-create.ts").then((module) => module.netCreateVerb),
  "net-start": () => import("./verbs/net-start.ts").then((module) => module.netStartVerb),
  "net-destroy": () => import("./verbs/net-destroy.ts").then((module) => module.netDestroyVerb),
  "net-undefine": () => import("./verbs/net-undefine.ts").then((module) => module.netUndefineVerb),
  "net-autostart": () =>
    import("./verbs/net-autostart.ts").then((module) => module.netAutostartVerb),
  "net-edit": () => import("./verbs/net-edit.ts").then((module) => module.netEditVerb),
  "secret-define": () =>
    import("./verbs/secret-define.ts").then((module) => module.secretDefineVerb),
  "secret-undefine": () =>
    import("./verbs/secret-undefine.ts").then((module) => module.secretUndefineVerb),
  "secret-list": () => import("./verbs/secret-list.ts").then((module) => module.secretListVerb),
  "secret-dumpxml": () =>
    import("./verbs/secret-dumpxml.ts").then((module) => module.secretDumpxmlVerb),
  "secret-set-value": () =>
    import("./verbs/secret-set-value.ts").then((module) => module.secretSetValueVerb),
  "secret-get-value": () =>
    import("./verbs/secret-get-value.ts").then((module) => module.secretGetValueVerb),
  "pool-list": () => import("./verbs/pool-list.ts").then((module) => module.poolListVerb),
  "pool-info": () => import("./verbs/pool-info.ts").then((module) => module.poolInfoVerb),
  "pool-dumpxml": () => import("./verbs/pool-dumpxml.ts").then((module) => module.poolDumpxmlVerb),
  "pool-define": () => import("./verbs/pool-define.ts").then((module) => module.poolDefineVerb),
  "pool-create": () => import("./verbs/pool-create.ts").then((module) => module.poolCreateVerb),
  "pool-build": () => import("./verbs/pool-build.ts").then((module) => module.poolBuildVerb),
  "pool-start": () => import("./verbs/pool-start.ts").then((module) => module.poolStartVerb),
  "pool-destroy": () => import("./verbs/pool-destroy.ts").then((module) => module.poolDestroyVerb),
  "pool-delete": () => import("./verbs/pool-delete.ts").then((module) => module.poolDeleteVerb),
  "pool-refresh": () => import("./verbs/pool-refresh.ts").then((module) => module.poolRefreshVerb),
  "pool-undefine": () =>
    import("./verbs/pool-undefine.ts").then((module) => module.poolUndefineVerb),
  "pool-autostart": () =>
    import("./verbs/pool-autostart.ts").then((module) => module.poolAutostartVerb),
  "vol-list": () => import("./verbs/vol-list.ts").then((module) => module.volListVerb),
  "vol-info": () => import("./verbs/vol-info.ts").then((module) => module.volInfoVerb),
  "vol-dumpxml": () => import("./verbs/vol-dumpxml.ts").then((module) => module.volDumpxmlVerb),
  "vol-path": () => import("./verbs/vol-path.ts").then((module) => module.volPathVerb),
  "vol-key": () => import("./verbs/vol-key.ts").then((module) => module.volKeyVerb),
  "vol-name": () => import("./verbs/vol-name.ts").then((module) => module.volNameVerb),
  "vol-pool": () => import("./verbs/vol-pool.ts").then((module) => module.volPoolVerb),
  "vol-create": () => import("./verbs/vol-create.ts").then((module) => module.volCreateVerb),
  "vol-create-as": () =>
    import("./verbs/vol-create-as.ts").then((module) => module.volCreateAsVerb),
  "vol-create-from": () =>
    import("./verbs/vol-create-from.ts").then((module) => module.volCreateFromVerb),
  "vol-clone": () => import("./verbs/vol-clone.ts").then((module) => module.volCloneVerb),
  "vol-delete": () => import("./verbs/vol-delete.ts").then((module) => module.volDeleteVerb),
  "vol-wipe": () => import("./verbs/vol-wipe.ts").then((module) => module.volWipeVerb),
  "vol-resize": () => import("./verbs/vol-resize.ts").then((module) => module.volResizeVerb),
  "vol-upload": () => import("./verbs/vol-upload.ts").then((module) => module.volUploadVerb),
  "vol-download": () => import("./verbs/vol-download.ts").then((module) => module.volDownloadVerb),
  "vol-job": () => import("./verbs/vol-job.ts").then((module) => module.volJobVerb),
  ttyconsole: () => import("./verbs/ttyconsole.ts").then((module) => module.ttyconsoleVerb),
  uri: () => import("./verbs/uri.ts").then((module) => module.uriVerb),
  vcpuinfo: () => import("./verbs/vcpuinfo.ts").then((module) => module.vcpuinfoVerb),
  vncdisplay: () => import("./verbs/vncdisplay.ts").then((module) => module.vncdisplayVerb),
  version: () => import("./verbs/version.ts").then((module) => module.versionVerb),
};

/**
 * The verb named `name`, loaded; undefined when there is none.
 *
 * @example
 * ```ts
 * import { loadVerb } from "./verb_registry.ts";
 * console.log((await loadVerb("list"))?.summary); // "list domains"
 * ```
 */
export async function loadVerb(name: string): Promise<Verb | undefined> {
  if (!Object.hasOwn(VERB_LOADERS, name)) return undefined;
  return await VERB_LOADERS[name as VerbName]();
}

/** Every verb, loaded, in the order `help` lists them (by name). */
export async function loadAllVerbs(): Promise<Verb[]> {
  const names = (Object.keys(VERB_LOADERS) as VerbName[]).sort();
  return await Promise.all(names.map((name) => VERB_LOADERS[name]()));
}

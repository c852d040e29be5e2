/**
 * Every verb of the CLI. Adding a verb: one file in this folder, one line here.
 *
 * @module
 */

import type { Verb } from "../verb.ts";
import { autostartVerb } from "./autostart.ts";
import { consoleVerb } from "./console.ts";
import { createVerb } from "./create.ts";
import { daemonVerb } from "./daemon.ts";
import { defineVerb } from "./define.ts";
import { descVerb } from "./desc.ts";
import { destroyVerb } from "./destroy.ts";
import { domblkinfoVerb } from "./domblkinfo.ts";
import { domblklistVerb } from "./domblklist.ts";
import { domblkstatVerb } from "./domblkstat.ts";
import { domifstatVerb } from "./domifstat.ts";
import { dommemstatVerb } from "./dommemstat.ts";
import { domstatsVerb } from "./domstats.ts";
import { vcpuinfoVerb } from "./vcpuinfo.ts";
import { domidVerb } from "./domid.ts";
import { dominfoVerb } from "./dominfo.ts";
import { domnameVerb } from "./domname.ts";
import { domstateVerb } from "./domstate.ts";
import { domuuidVerb } from "./domuuid.ts";
import { dumpxmlVerb } from "./dumpxml.ts";
import { eventVerb } from "./event.ts";
import { hostnameVerb } from "./hostname.ts";
import { listVerb } from "./list.ts";
import { logVerb } from "./log.ts";
import { metadataVerb } from "./metadata.ts";
import { nodeinfoVerb } from "./nodeinfo.ts";
import { rebootVerb } from "./reboot.ts";
import { resetVerb } from "./reset.ts";
import { resumeVerb } from "./resume.ts";
import { shutdownVerb } from "./shutdown.ts";
import { startVerb } from "./start.ts";
import { suspendVerb } from "./suspend.ts";
import { undefineVerb } from "./undefine.ts";
import { uriVerb } from "./uri.ts";
import { versionVerb } from "./version.ts";

/** The verbs, in the order `help` lists them. */
export const VERBS: readonly Verb[] = [
  autostartVerb,
  consoleVerb,
  createVerb,
  daemonVerb,
  defineVerb,
  descVerb,
  destroyVerb,
  domblkinfoVerb,
  domblklistVerb,
  domblkstatVerb,
  domidVerb,
  domifstatVerb,
  dominfoVerb,
  domnameVerb,
  dommemstatVerb,
  domstateVerb,
  domstatsVerb,
  domuuidVerb,
  dumpxmlVerb,
  eventVerb,
  hostnameVerb,
  listVerb,
  logVerb,
  metadataVerb,
  nodeinfoVerb,
  rebootVerb,
  resetVerb,
  resumeVerb,
  shutdownVerb,
  startVerb,
  suspendVerb,
  undefineVerb,
  uriVerb,
  vcpuinfoVerb,
  versionVerb,
];

/**
 * The verb named `name`, or undefined.
 *
 * @example
 * ```ts
 * import { findVerb } from "./mod.ts";
 * console.log(findVerb("list")?.summary); // "list domains"
 * ```
 */
export function findVerb(name: string): Verb | undefined {
  return VERBS.find((verb) => verb.name === name);
}

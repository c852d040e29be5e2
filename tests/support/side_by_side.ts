/**
 * One inactive QEMU domain side by side: the same domain XML defined in libvirtd 9.0
 * (`qemu:///system`, through {@linkcode oracleVirsh}) and, by virsh over its libvirt socket, in a
 * service of evirt's own, with a twin (`<name>-cli`) defined by evirt's CLI. The same commands
 * run by virsh over evirt's socket, by evirt's CLI on the twin and by virsh against libvirtd
 * must print the same output and the same errors. The libvirtd domain is undefined, the service
 * stopped and its folders removed when the test's body ends.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CliRun, evirtOn } from "./cli_process.ts";
import { missing } from "./environment.ts";
import { LIBVIRTD_SOCKET, ORACLE_PREFIX, oracleVirsh } from "./libvirtd.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "./service_process.ts";
import { runVirsh, socketUri, type VirshRun } from "./virsh.ts";

/** Why a side-by-side domain test cannot run here, or undefined when it can. */
export const sideBySideSkipReason: string | undefined = missing(
  "virsh",
  LIBVIRTD_SOCKET,
  "qemu-system-x86_64",
);

/** The domain defined on both sides, and the three ways to ask about it. */
export interface SideBySide {
  /** The domain's name in libvirtd and in evirt (over virsh). */
  name: string;
  /** The twin's name in evirt (over its CLI). */
  twin: string;
  /** A folder of the test's own, readable by libvirtd's QEMU, removed at the end. */
  dir: string;
  service: ServiceProcess;
  /**
   * Runs each command by virsh over evirt's socket, by virsh against libvirtd and by evirt's CLI
   * (the domain's name replaced by the twin's); asserts the first and the last print what
   * libvirtd prints (the twin's name read as the domain's in stderr). Returns how many commands
   * libvirtd refused.
   */
  compare(commands: readonly string[][]): Promise<number>;
  /**
   * The inactive XML of the domain as virsh over evirt, evirt's CLI (the twin) and libvirtd
   * print it.
   */
  inactiveXml(): Promise<{ virsh: string; cli: string; libvirtd: string }>;
}

/** What {@linkcode withSideBySide} defines. */
export interface SideBySideOptions {
  /** Names the domain: `ORACLE_PREFIX<label>-<random>`. */
  label: string;
  /** The domain XML of a domain `name`, given the test's folder. */
  domainXml(name: string, dir: string): string;
  /** Writes what the domain XML names into the test's folder, before the domain is defined. */
  prepare?(dir: string): void;
}

/**
 * Starts a service, defines the domain on both sides (asserting both accept it) and the twin,
 * runs `body`, then undefines the libvirtd domain and stops the service.
 */
export async function withSideBySide(
  options: SideBySideOptions,
  body: (side: SideBySide) => Promise<void>,
): Promise<void> {
  const dirs = await serviceDirs();
  const dir = dirs.stateDir.replace(/\/state$/, "");
  const name = `${ORACLE_PREFIX}${options.label}-${crypto.randomUUID().slice(0, 8)}`;
  const twin = `${name}-cli`;
  let service: ServiceProcess | undefined;
  let defined = false;
  try {
    service = await startServiceProcess(dirs);
    const running = service;
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    options.prepare?.(dir);
    Deno.writeTextFileSync(`${dir}/domain.xml`, options.domainXml(name, dir));
    const [left, right] = [
      await runVirsh(uri, ["define", `${dir}/domain.xml`]),
      await oracleVirsh(["define", `${dir}/domain.xml`]),
    ];
    defined = right.code === 0;
    assert.equal(left.code, 0, left.stderr);
    assert.equal(right.code, 0, right.stderr);
    Deno.writeTextFileSync(`${dir}/twin.xml`, options.domainXml(twin, dir));
    const twinDefined = await evirtOn(running, ["define", `${dir}/twin.xml`]);
    assert.equal(twinDefined.code, 0, twinDefined.stderr);
    await body({
      name,
      twin,
      dir,
      service: running,
      async compare(commands) {
        let refusals = 0;
        for (const args of commands) {
          const [ours, theirs] = [await runVirsh(uri, args), await oracleVirsh(args)];
          if (theirs.code !== 0) refusals++;
          const cli = await evirtOn(running, args.map((arg) => arg === name ? twin : arg));
          assertSameRun(ours, cli, theirs, args.join(" ").replaceAll(dir, "DIR"), twin, name);
        }
        return refusals;
      },
      async inactiveXml() {
        return {
          virsh: (await runVirsh(uri, ["dumpxml", "--inactive", name])).stdout,
          cli: (await evirtOn(running, ["dumpxml", "--inactive", twin])).stdout,
          libvirtd: (await oracleVirsh(["dumpxml", "--inactive", name])).stdout,
        };
      },
    });
  } finally {
    if (defined) await oracleVirsh(["undefine", name]);
    await service?.stop("SIGTERM");
    await removeServiceDirs(dirs);
  }
}

/** Asserts virsh over evirt and evirt's CLI printed what libvirtd printed for `what`. */
function assertSameRun(
  ours: VirshRun,
  cli: CliRun,
  theirs: VirshRun,
  what: string,
  twin: string,
  name: string,
): void {
  for (const [who, run] of [["virsh over evirt", ours], ["evirt", cli]] as const) {
    assert.equal(run.code, theirs.code, `${who}: ${what}: exit code\n${run.stderr}`);
    assert.equal(run.stdout, theirs.stdout, `${who}: ${what}: stdout`);
    assert.equal(run.stderr.replaceAll(twin, name), theirs.stderr, `${who}: ${what}: stderr`);
  }
}

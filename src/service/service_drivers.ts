/**
 * The drivers the service hosts besides the always-on test hypervisor: QEMU when
 * `qemu-system-x86_64` can be found and answers; LXC when the host can run containers (root,
 * namespaces, a usable cgroup layout, `unshare` and `socat`).
 *
 * @module
 */

import type { Driver } from "../../actors/driver_protocol.ts";
import { LxcDriver } from "../../drivers/lxc/lxc_driver.ts";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import type { Config } from "../config/config.ts";
import type { QemuConfinementConfig } from "../config/qemu_confinement.ts";
import { findCommand } from "./find_command.ts";

/** The emulator whose presence turns the QEMU driver on. */
const QEMU_EMULATOR = "qemu-system-x86_64";

/**
 * Builds the optional drivers. A missing QEMU is not an error: the service runs without the
 * `qemu`/`kvm` domain types, says so, and refuses those types with code 67.
 */
export async function serviceDrivers(
  config: Config,
  log: (message: string) => void,
  confinement?: QemuConfinementConfig,
): Promise<Driver[]> {
  return [...await qemuDrivers(config, log, confinement), ...lxcDrivers(config, log)];
}

/** The LXC driver when this host can run containers; a host that cannot says why. */
function lxcDrivers(config: Config, log: (message: string) => void): Driver[] {
  const absent = ["unshare", "socat", "setsid", "mkfifo"].filter((command) =>
    findCommand(command) === undefined
  );
  const reason = absent.length > 0 ? `needs ${absent.join(", ")}` : LxcDriver.unavailableReason();
  if (reason !== undefined) {
    log(`LXC driver off: ${reason}`);
    return [];
  }
  const driver = new LxcDriver({ runtimeDir: config.runtimeDir, log });
  log(`LXC driver on (kernel ${driver.hypervisorVersion})`);
  return [driver];
}

async function qemuDrivers(
  config: Config,
  log: (message: string) => void,
  confinement: QemuConfinementConfig | undefined,
): Promise<Driver[]> {
  if (findCommand(QEMU_EMULATOR) === undefined) {
    log(`${QEMU_EMULATOR} not found: the qemu and kvm domain types are off`);
    return [];
  }
  try {
    const driver = await QemuDriver.create({
      runtimeDir: config.runtimeDir,
      logDir: `${config.stateDir}/log/qemu`,
      statsIntervalMs: config.statsIntervalMs,
      saveImageFormat: config.saveImageFormat,
      ...(config.saveMaxBandwidthMiB === null
        ? {}
        : { saveBandwidthBytesPerSecond: config.saveMaxBandwidthMiB * 1024 * 1024 }),
      log,
      ...(confinement === undefined ? {} : { confinement }),
    });
    // Its dry-build thread's start stalls the loop: pay for it before callers are accepted.
    driver.prestartChecks();
    log(
      `QEMU ${driver.hypervisorVersion} driver on (KVM ${
        driver.kvmUsable ? "usable" : "not usable"
      })`,
    );
    return [driver];
  } catch (error) {
    log(`QEMU driver off: ${(error as Error).message}`);
    return [];
  }
}

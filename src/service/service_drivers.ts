/**
 * The drivers the service hosts besides the always-on test hypervisor: QEMU when
 * `qemu-system-x86_64` can be found and answers.
 *
 * @module
 */

import type { Driver } from "../../actors/driver_protocol.ts";
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
  if (findCommand(QEMU_EMULATOR) === undefined) {
    log(`${QEMU_EMULATOR} not found: the qemu and kvm domain types are off`);
    return [];
  }
  try {
    const driver = await QemuDriver.create({
      runtimeDir: config.runtimeDir,
      logDir: `${config.stateDir}/log/qemu`,
      statsIntervalMs: config.statsIntervalMs,
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

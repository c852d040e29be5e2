/**
 * libvirt's drive addresses and implicit disk controllers, as its domain post-parse assigns
 * them for a VMware domain (wide SCSI buses: 15 disks a controller, unit 7 being the
 * controller itself; 63 from hardware version 13).
 *
 * @module
 */

import { diskTargetIndex } from "../../src/model/device_edit.ts";
import type { Controller, Disk } from "../../src/model/domain.ts";
import { ErrorCode } from "../../src/model/errors.ts";
import { vmxError } from "./vmx_values.ts";

/** libvirt's unit count of a wide SCSI bus (16, unit 7 being the controller). */
export const SCSI_WIDE_MAX_UNIT = 16;

/** The unit count of a SCSI bus from VMware hardware version 13. */
export const SCSI_SUPER_WIDE_MAX_UNIT = 64;

/** libvirt's drive address for a target name on a bus (`virDomainDiskDefAssignAddress`). */
export function driveAddress(
  dev: string,
  bus: string,
  scsiMaxUnit: number,
): NonNullable<Disk["address"]> {
  const index = diskTargetIndex(dev);
  if (index < 0) {
    throw vmxError(`Unknown disk name '${dev}' and no address specified`, ErrorCode.XML_ERROR);
  }
  let controller = 0;
  let driveBus = 0;
  let unit = 0;
  if (bus === "scsi") {
    controller = Math.trunc(index / (scsiMaxUnit - 1));
    unit = index % (scsiMaxUnit - 1);
    if (unit >= 7) unit++;
  } else if (bus === "ide") {
    controller = Math.trunc(index / 4);
    driveBus = Math.trunc((index % 4) / 2);
    unit = index % 2;
  } else if (bus === "sata") {
    controller = Math.trunc(index / 6);
    unit = index % 6;
  } else if (bus === "fdc") {
    controller = Math.trunc(index / 2);
    unit = index % 2;
  }
  return { type: "drive", controller, bus: driveBus, target: 0, unit };
}

/** libvirt's implicit disk controllers: SCSI, FDC, IDE, SATA up to the highest one in use. */
export function addImplicitControllers(disks: readonly Disk[], controllers: Controller[]): void {
  for (const [type, bus] of [["scsi", "scsi"], ["fdc", "fdc"], ["ide", "ide"], ["sata", "sata"]]) {
    let max = -1;
    for (const disk of disks) {
      if (disk.target.bus !== bus || disk.address?.type !== "drive") continue;
      max = Math.max(max, disk.address.controller ?? 0);
    }
    for (let index = 0; index <= max; index++) {
      if (!controllers.some((each) => each.type === type && each.index === index)) {
        controllers.push({ type, index });
      }
    }
  }
}

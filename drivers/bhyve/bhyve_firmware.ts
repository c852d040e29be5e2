/**
 * The firmware libvirt's bhyve driver picks for `<os firmware='efi'>` when a guest starts: the
 * file `BHYVE_UEFI.fd` in its firmware folder, else the first file there.
 *
 * @module
 */

import type { DomainDefinition } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";

/** libvirt's preferred bhyve UEFI firmware file name. */
export const BHYVE_DEFAULT_FIRMWARE = "BHYVE_UEFI.fd";

/**
 * Fills in the loader of an EFI guest, in place.
 *
 * @param def The definition.
 * @param folder The firmware folder.
 * @param files The names in it, in directory order.
 * @throws {VirtError} Code 67 when the folder has no firmware.
 */
export function fillBhyveFirmware(def: DomainDefinition, folder: string, files: string[]): void {
  if (def.os.firmware === undefined) return;
  const visible = files.filter((name) => !name.startsWith("."));
  const chosen = visible.includes(BHYVE_DEFAULT_FIRMWARE) ? BHYVE_DEFAULT_FIRMWARE : visible[0];
  if (chosen === undefined) {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, `no firmwares found in ${folder}`, {
      where: "/domain/os/@firmware",
    });
  }
  def.os.loader = {
    ...def.os.loader,
    type: "pflash",
    readonly: "yes",
    path: `${folder}/${chosen}`,
  };
}

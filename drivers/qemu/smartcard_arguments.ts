/**
 * `<smartcard>` as QEMU arguments, as libvirt gives them, each on its CCID controller's bus
 * (`ccidC.0`; the controller is a `usb-ccid`):
 *
 * - `passthrough`: the card's character device (`-chardev …,id=charsmartcardN`) and
 *   `-device ccid-card-passthru`;
 * - `host`: `ccid-card-emulated,backend=nss-emulated`, the host's card readers through NSS
 *   (its database, `/etc/pki/nssdb`, must exist at start);
 * - `host-certificates`: `ccid-card-emulated,backend=certificates` with the three certificate
 *   nicknames of the NSS database `<database>` (QEMU's default, `/etc/pki/nssdb`, without one),
 *   which must exist at start.
 *
 * @module
 */

import type { DomainDevices } from "../../src/model/domain.ts";
import type { ArgumentCollector } from "./argument_collector.ts";
import { chardevBackend } from "./chardev_arguments.ts";
import { refuseConfig, refuseExtra } from "./config_refusal.ts";
import { qemuOption } from "./qemu_option.ts";

/** The NSS database QEMU's card emulation opens when none is named. */
export const HOST_NSS_DATABASE = "/etc/pki/nssdb";

/** The certificates an emulated card of mode `host-certificates` holds. */
const CERTIFICATES = 3;

/**
 * Adds the arguments of every smartcard.
 *
 * @throws {VirtError} 67 naming an unknown mode, a certificate list that is not three long
 *   or an address that is not a CCID one.
 *
 * @example
 * ```ts ignore
 * addSmartcardArguments(definition.devices, collector);
 * ```
 */
export function addSmartcardArguments(devices: DomainDevices, collector: ArgumentCollector): void {
  devices.smartcards.forEach((card, index) => {
    const where = `/domain/devices/smartcard[${index + 1}]`;
    refuseExtra(card.extra, where);
    if (!["passthrough", "host", "host-certificates"].includes(card.mode)) {
      throw refuseConfig(`${where}/@mode`, `smartcard mode '${card.mode}' is not supported`);
    }
    const address = card.address;
    if (address !== undefined && address.type !== "ccid") {
      throw refuseConfig(
        `${where}/address/@type`,
        `smartcard address type '${address.type}' is not supported`,
      );
    }
    if ((address?.slot ?? 0) !== 0) {
      throw refuseConfig(`${where}/address/@slot`, "a CCID controller has one slot, slot 0");
    }
    const id = card.alias?.startsWith("ua-") ? card.alias : `smartcard${index}`;
    const bus = `ccid${address?.controller ?? 0}.0`;
    if (card.mode === "host") {
      // QEMU's card emulation opens the host's NSS database (its default path) for the readers;
      // without one QEMU fails at start ("failed to initialize vcard").
      collector.requirePath(HOST_NSS_DATABASE, "directory", `${where}/@mode`);
      collector.device(qemuOption("ccid-card-emulated", { backend: "nss-emulated", id, bus }));
      return;
    }
    if (card.mode === "host-certificates") {
      if (card.certificates.length !== CERTIFICATES) {
        throw refuseConfig(
          `${where}/certificate`,
          "host-certificates mode needs exactly three certificates",
        );
      }
      if (card.database !== undefined) {
        collector.requirePath(card.database, "directory", `${where}/database`);
      }
      const [cert1, cert2, cert3] = card.certificates;
      collector.device(qemuOption("ccid-card-emulated", {
        backend: "certificates",
        cert1,
        cert2,
        cert3,
        db: card.database,
        id,
        bus,
      }));
      return;
    }
    const chardevId = `charsmartcard${index}`;
    collector.push("-chardev", chardevBackend(card, chardevId, collector, where));
    collector.device(qemuOption("ccid-card-passthru", { chardev: chardevId, id, bus }));
  });
}

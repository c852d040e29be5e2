/**
 * `<smartcard mode='passthrough'>` as QEMU arguments, as libvirt gives them: the card's
 * character device (`-chardev …,id=charsmartcardN`) and `-device ccid-card-passthru` on its
 * CCID controller's bus (`ccidC.0`; the controller is a `usb-ccid`). The emulated modes
 * (`host`, `host-certificates`) need a host card reader or an NSS certificate database, which
 * evirt does not provide; they are refused by element.
 *
 * @module
 */

import type { DomainDevices } from "../../src/model/domain.ts";
import type { ArgumentCollector } from "./argument_collector.ts";
import { chardevBackend } from "./chardev_arguments.ts";
import { refuseConfig, refuseExtra } from "./config_refusal.ts";
import { qemuOption } from "./qemu_option.ts";

/**
 * Adds the arguments of every smartcard.
 *
 * @throws {VirtError} 67 naming an emulated card or an address that is not a CCID one.
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
    if (card.mode !== "passthrough") {
      throw refuseConfig(
        `${where}/@mode`,
        `smartcard mode '${card.mode}' needs a host card reader or certificate database, which evirt does not provide`,
      );
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
    const id = `charsmartcard${index}`;
    collector.push("-chardev", chardevBackend(card, id, collector, where));
    collector.device(qemuOption("ccid-card-passthru", {
      chardev: id,
      id: card.alias?.startsWith("ua-") ? card.alias : `smartcard${index}`,
      bus: `ccid${address?.controller ?? 0}.0`,
    }));
  });
}

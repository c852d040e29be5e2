/**
 * Device procedures: `virDomainAttachDevice(Flags)`, `virDomainDetachDevice(Flags)` and
 * `virDomainUpdateDeviceFlags`, run through the host as the HTTP routes do. The calls without
 * flags act on the running guest (libvirt passes `VIR_DOMAIN_AFFECT_LIVE`), so `virsh
 * attach-disk` without `--config` behaves here as against libvirtd.
 *
 * @module
 */

import type { Host } from "../../actors/host.ts";
import type { DeviceAction } from "../model/device_edit.ts";
import { parseDeviceXml } from "../xml/parse_device.ts";
import { checkFlags, lookupWire } from "./domain_lookup.ts";
import type { Procedure, ProcedureTable } from "./procedure.ts";
import { domainType, nonnullString, type WireDomain } from "./protocol.ts";
import { x } from "./xdr.ts";

/** `VIR_DOMAIN_AFFECT_LIVE`, `VIR_DOMAIN_AFFECT_CONFIG`, `VIR_DOMAIN_DEVICE_MODIFY_FORCE`. */
const AFFECT_LIVE = 1;
const AFFECT_CONFIG = 2;
const MODIFY_FORCE = 4;

interface DeviceArgs {
  dom: WireDomain;
  xml: string;
  flags?: number;
}

async function changeDevice(
  host: Host,
  action: DeviceAction,
  api: string,
  args: DeviceArgs,
): Promise<void> {
  const flags = args.flags ?? AFFECT_LIVE;
  checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG | (action === "update" ? MODIFY_FORCE : 0), api);
  const { uuid } = lookupWire(host, args.dom);
  const change = parseDeviceXml(args.xml);
  await host.changeDevice(uuid, {
    action,
    change,
    api,
    ...((flags & AFFECT_LIVE) !== 0 ? { live: true } : {}),
    ...((flags & AFFECT_CONFIG) !== 0 ? { config: true } : {}),
    ...((flags & MODIFY_FORCE) !== 0 ? { force: true } : {}),
  });
}

function procedure(proc: number, action: DeviceAction, api: string, withFlags: boolean): Procedure {
  return {
    proc,
    readOnly: false,
    args: withFlags
      ? x.struct(["dom", domainType], ["xml", nonnullString], ["flags", x.uint])
      : x.struct(["dom", domainType], ["xml", nonnullString]),
    ret: x.void,
    handler: async (args: DeviceArgs, context) => {
      await changeDevice(context.target().host, action, api, args);
    },
  } as Procedure;
}

/** The device procedures. */
export const DEVICE_PROCEDURES: ProcedureTable = {
  virDomainAttachDevice: procedure(8, "attach", "virDomainAttachDevice", false),
  virDomainAttachDeviceFlags: procedure(160, "attach", "virDomainAttachDeviceFlags", true),
  virDomainDetachDevice: procedure(13, "detach", "virDomainDetachDevice", false),
  virDomainDetachDeviceFlags: procedure(161, "detach", "virDomainDetachDeviceFlags", true),
  virDomainUpdateDeviceFlags: procedure(174, "update", "virDomainUpdateDeviceFlags", true),
  virDomainDetachDeviceAlias: {
    proc: 392,
    readOnly: false,
    args: x.struct(["dom", domainType], ["alias", nonnullString], ["flags", x.uint]),
    ret: x.void,
    handler: async (args: { dom: WireDomain; alias: string; flags: number }, context) => {
      const { host } = context.target();
      checkFlags(args.flags, AFFECT_LIVE | AFFECT_CONFIG, "virDomainDetachDeviceAlias");
      await host.changeDevice(lookupWire(host, args.dom).uuid, {
        action: "detach",
        alias: args.alias,
        api: "virDomainDetachDeviceAlias",
        ...((args.flags & AFFECT_LIVE) !== 0 ? { live: true } : {}),
        ...((args.flags & AFFECT_CONFIG) !== 0 ? { config: true } : {}),
      });
    },
  },
};

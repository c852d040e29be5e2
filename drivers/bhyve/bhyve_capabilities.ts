/**
 * What the installed `bhyve` and `grub-bhyve` can do, as libvirt probes it (its
 * `BHYVE_CAP_*` and `BHYVE_GRUB_CAP_*` flags): command lines use a feature only when the
 * binary has it, and refuse the definition otherwise.
 *
 * @module
 */

/** The features of a `bhyve` binary libvirt looks for. */
export interface BhyveCapabilities {
  /** `-u`: the RTC keeps UTC. */
  rtcUtc: boolean;
  /** One AHCI controller takes 32 disks (`ahci,hd:…,cd:…`); else one disk a controller. */
  ahci32Slot: boolean;
  /** The `e1000` NIC model. */
  netE1000: boolean;
  /** `-l bootrom,…`: UEFI boot. */
  lpcBootrom: boolean;
  /** The `fbuf` frame buffer (VNC). */
  fbuf: boolean;
  /** The `xhci` USB controller (tablet); probed, but libvirt 9.0 builds the device regardless. */
  xhci: boolean;
  /** `-c cpus=…,sockets=…,cores=…,threads=…`. */
  cpuTopology: boolean;
  /** The `hda` sound device. */
  soundHda: boolean;
  /** `password=` of the frame buffer. */
  vncPassword: boolean;
  /** `virtio-9p` file system sharing; probed, but libvirt 9.0 builds the device regardless. */
  virtio9p: boolean;
  /** `grub-bhyve --cons-dev`. */
  grubConsoleDevice: boolean;
}

/** A current FreeBSD `bhyve` (every feature libvirt 9.0 probes). */
export const FULL_BHYVE_CAPABILITIES: Readonly<BhyveCapabilities> = {
  rtcUtc: true,
  ahci32Slot: true,
  netE1000: true,
  lpcBootrom: true,
  fbuf: true,
  xhci: true,
  cpuTopology: true,
  soundHda: true,
  vncPassword: true,
  virtio9p: true,
  grubConsoleDevice: true,
};

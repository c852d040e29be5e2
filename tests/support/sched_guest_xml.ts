/**
 * The guest the `schedinfo --set` tests start, in evirt and beside it in libvirtd: two vCPUs,
 * no disk, with shares and vCPU bandwidth (so evirt's QEMU driver makes its control group).
 *
 * @module
 */

/** The guest's XML, named `name`. */
export function schedGuestXml(name: string): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='KiB'>131072</memory>
  <vcpu placement='static'>2</vcpu>
  <cputune><shares>1500</shares><period>100000</period><quota>50000</quota></cputune>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><memballoon model='none'/></devices>
</domain>`;
}

/**
 * The video memory libvirt's post-parse gives a VMware SVGA adapter.
 *
 * @module
 */

/** libvirt's default video memory of a VMware SVGA adapter on a `vmware` domain, in KiB. */
export const VMVGA_DEFAULT_VRAM_KIB = 4096;

/**
 * The video memory libvirt keeps for an adapter: the default when none (0) is given, else
 * rounded up to a power of two.
 *
 * @example
 * ```ts
 * import { videoRamKiB } from "./video_ram.ts";
 * console.log(videoRamKiB(0), videoRamKiB(12288)); // 4096 16384
 * ```
 */
export function videoRamKiB(kib: number): number {
  if (kib <= 0) return VMVGA_DEFAULT_VRAM_KIB;
  let power = 1;
  while (power < kib) power *= 2;
  return power;
}

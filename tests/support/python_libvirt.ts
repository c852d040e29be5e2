/**
 * Debian's python3-libvirt: the interpreter it is installed for and whether it imports.
 *
 * @module
 */

/** Debian's interpreter (`python3` on PATH may be another build without the module). */
export const SYSTEM_PYTHON = "/usr/bin/python3";

/** Why python3-libvirt tests cannot run here, or undefined. */
export function pythonLibvirtSkipReason(): string | undefined {
  try {
    const probe = new Deno.Command(SYSTEM_PYTHON, {
      args: ["-c", "import libvirt"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return probe.success ? undefined : "needs python3-libvirt (import libvirt failed)";
  } catch {
    return `needs ${SYSTEM_PYTHON}`;
  }
}

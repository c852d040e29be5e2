/**
 * A bounded cache of what a probe of an emulator binary found, keyed by the binary's absolute
 * path, size and modification time (an upgraded QEMU is probed again). A failed probe is not
 * remembered: the next caller tries again. Shared by the start-time capabilities
 * (`qemu_capabilities.ts`) and the QMP report behind domain capabilities
 * (`qemu_domain_capabilities.ts`).
 *
 * A name's path is remembered too (per name and `PATH`), as libvirt keeps the emulator path its
 * capabilities found: each `get` then checks that one file (a stat it needs anyway for the key)
 * instead of searching `PATH` again, which cost a failed stat per directory before QEMU's on
 * every define, on the service's main loop. When the remembered file is gone or no longer an
 * executable file, the name is resolved again (and refused as before when nothing is found). A
 * binary installed later in an earlier `PATH` directory is therefore not picked up while the
 * remembered one remains, as with libvirt.
 *
 * @module
 */

/**
 * Probes of binaries, at most `max` kept (the oldest forgotten first).
 *
 * @example
 * ```ts ignore
 * const cache = new BinaryProbeCache(8, resolveEmulator, (path) => probe(path));
 * const report = await cache.get("qemu-system-x86_64");
 * ```
 */
export class BinaryProbeCache<T> {
  readonly #entries = new Map<string, Promise<T>>();
  /** Paths resolved from names, by name and `PATH` (at most `max`, the oldest forgotten first). */
  readonly #paths = new Map<string, string>();
  readonly #max: number;
  readonly #resolve: (name: string) => string;
  readonly #probe: (path: string) => Promise<T>;

  /**
   * @param max How many probes are kept.
   * @param resolve A name or path to the binary's absolute path (throws when there is none).
   * @param probe What to learn of the binary at a path.
   */
  constructor(max: number, resolve: (name: string) => string, probe: (path: string) => Promise<T>) {
    this.#max = max;
    this.#resolve = resolve;
    this.#probe = probe;
  }

  /** The probe of a binary, run on first use; rejects with what resolving or probing threw. */
  get(binary: string): Promise<T> {
    let path: string;
    let key: string;
    try {
      const named = `${binary}\0${Deno.env.get("PATH") ?? ""}`;
      const remembered = this.#paths.get(named);
      let info = remembered === undefined ? undefined : executableFileInfo(remembered);
      if (remembered !== undefined && info !== undefined) {
        path = remembered;
      } else {
        this.#paths.delete(named);
        path = this.#resolve(binary);
        info = Deno.statSync(path);
        if (this.#paths.size >= this.#max) this.#paths.delete(this.#paths.keys().next().value!);
        this.#paths.set(named, path);
      }
      key = `${path}\0${info.size}\0${info.mtime?.getTime() ?? 0}`;
    } catch (error) {
      return Promise.reject(error);
    }
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = this.#probe(path);
      if (this.#entries.size >= this.#max) {
        this.#entries.delete(this.#entries.keys().next().value!);
      }
      this.#entries.set(key, entry);
      entry.catch(() => this.#entries.delete(key));
    }
    return entry;
  }
}

/** The file's stat when it is an executable file, else undefined (gone, a directory, no x bit). */
function executableFileInfo(path: string): Deno.FileInfo | undefined {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0 ? info : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A bounded cache of what a probe of an emulator binary found, keyed by the binary's absolute
 * path, size and modification time (an upgraded QEMU is probed again). A failed probe is not
 * remembered: the next caller tries again. Shared by the start-time capabilities
 * (`qemu_capabilities.ts`) and the QMP report behind domain capabilities
 * (`qemu_domain_capabilities.ts`).
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
      path = this.#resolve(binary);
      const info = Deno.statSync(path);
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

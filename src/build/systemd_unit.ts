/**
 * The `evirt.service` systemd unit the install task writes.
 *
 * - `Type=notify`: the service sends `READY=1` to `$NOTIFY_SOCKET` once replay and reconcile are
 *   done and it listens, so units ordered after it start against a service that answers.
 * - `KillMode=process`: a stop or restart of the unit signals the service only; the QEMU guests it
 *   started stay in the unit's control group, keep running, and are adopted by the next start
 *   (libvirtd's unit does the same).
 * - `ExecReload`: SIGHUP, which re-reads the tokens file (the service has no terminal under systemd,
 *   so SIGHUP means "reload" to it).
 * - `ExecStop`, only when installed with a guests policy (`on_shutdown` set in the installing
 *   configuration): `evirt host shutdown-guests` saves or shuts down the running guests before
 *   the service gets its SIGTERM, as libvirt-guests.service does before libvirtd stops, and with
 *   its `TimeoutStopSec=0` (each guest's save or shutdown is bounded by the service). Without
 *   it, a stop or restart of the unit never touches a guest.
 * - The state and runtime directories are written out as the installing configuration resolved
 *   them, so the unit and `deno task start` use the same log. No `RuntimeDirectory=`: systemd would
 *   empty it at stop, and it holds the running guests' QMP sockets.
 *
 * @module
 */

/** What the unit names. */
export interface UnitSettings {
  /** The installed `evirt` command (absolute). */
  command: string;
  /** `EVIRT_STATE_DIR` of the service (absolute). */
  stateDir: string;
  /** `EVIRT_RUNTIME_DIR` of the service (absolute). */
  runtimeDir: string;
  /** Stop the host's guests (`evirt host shutdown-guests`) before the service stops. */
  stopGuests?: boolean;
}

/** Characters a path in the unit may not hold: systemd would read them as syntax. */
const UNSAFE_IN_UNIT = /["'\\\s%$;]/;

/**
 * The text of `evirt.service`.
 *
 * @throws {TypeError} When a path is not absolute or holds a character systemd would interpret.
 *
 * @example
 * ```ts
 * const unit = systemdUnit({
 *   command: "/usr/local/bin/evirt",
 *   stateDir: "/var/lib/evirt",
 *   runtimeDir: "/run/evirt",
 * });
 * console.log(unit.includes("Type=notify")); // true
 * ```
 */
export function systemdUnit(settings: UnitSettings): string {
  const { stopGuests, ...paths } = settings;
  for (const [name, path] of Object.entries(paths)) {
    if (!path.startsWith("/") || UNSAFE_IN_UNIT.test(path)) {
      throw new TypeError(
        `Cannot write ${name} into a systemd unit: '${path}' must be absolute, without spaces, ` +
          "quotes, '%', '$', ';' or backslashes",
      );
    }
  }
  return `[Unit]
Description=evirt virtualization service
Documentation=man:evirt(1)
After=local-fs.target network.target

[Service]
Type=notify
ExecStart=${settings.command} daemon
ExecReload=/bin/kill -HUP $MAINPID
${
    stopGuests === true
      ? `ExecStop=${settings.command} host shutdown-guests\n`
      : ""
  }Environment=EVIRT_STATE_DIR=${settings.stateDir}
Environment=EVIRT_RUNTIME_DIR=${settings.runtimeDir}
Environment=NO_COLOR=1
KillMode=process
Restart=on-failure
TimeoutStartSec=300
TimeoutStopSec=${stopGuests === true ? "0" : "60"}

[Install]
WantedBy=multi-user.target
`;
}

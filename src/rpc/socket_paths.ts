/**
 * Where the libvirt-protocol sockets live: `$EVIRT_RUNTIME_DIR/libvirt-sock` and
 * `libvirt-sock-ro`, or `EVIRT_LIBVIRT_SOCKET` and the same path with `-ro` appended (so
 * `EVIRT_LIBVIRT_SOCKET=/run/libvirt/libvirt-sock` puts evirt where libvirtd would be).
 *
 * @module
 */

import { ConfigError } from "../config/config.ts";

/** Linux `sun_path` holds 108 bytes including the terminating NUL. */
const UNIX_SOCKET_PATH_MAX_BYTES = 107;

/** The two socket paths. */
export interface LibvirtSocketPaths {
  socketPath: string;
  readOnlySocketPath: string;
}

/**
 * The socket paths from the environment.
 *
 * @throws {ConfigError} When `EVIRT_LIBVIRT_SOCKET` is not absolute or a path is too long.
 *
 * @example
 * ```ts
 * import { libvirtSocketPaths } from "./socket_paths.ts";
 * console.log(libvirtSocketPaths({}, "/run/evirt").readOnlySocketPath); // "/run/evirt/libvirt-sock-ro"
 * ```
 */
export function libvirtSocketPaths(
  env: Record<string, string | undefined>,
  runtimeDir: string,
): LibvirtSocketPaths {
  const chosen = env.EVIRT_LIBVIRT_SOCKET;
  if (chosen !== undefined && chosen !== "" && !chosen.startsWith("/")) {
    throw new ConfigError("EVIRT_LIBVIRT_SOCKET", `must be an absolute path, got '${chosen}'`);
  }
  const socketPath = chosen === undefined || chosen === "" ? `${runtimeDir}/libvirt-sock` : chosen;
  const paths = { socketPath, readOnlySocketPath: `${socketPath}-ro` };
  for (const path of Object.values(paths)) {
    if (new TextEncoder().encode(path).length > UNIX_SOCKET_PATH_MAX_BYTES) {
      throw new ConfigError(
        chosen === undefined || chosen === "" ? "EVIRT_RUNTIME_DIR" : "EVIRT_LIBVIRT_SOCKET",
        `gives a socket path longer than ${UNIX_SOCKET_PATH_MAX_BYTES} bytes: '${path}'`,
      );
    }
  }
  return paths;
}

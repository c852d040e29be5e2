/**
 * The service's help (`src/service/main.ts --help`, `evirt daemon --help`): how to run it, the
 * environment it reads, the signals it answers.
 *
 * @module
 */

/**
 * The help text of the service entry.
 *
 * @example
 * ```ts
 * console.log(SERVICE_HELP.split("\n")[0]); // "usage: evirt daemon [--help] [--version] [--config FILE]"
 * ```
 */
export const SERVICE_HELP = `usage: evirt daemon [--help] [--version] [--config FILE]
       deno run --allow-all src/service/main.ts [--help] [--version] [--config FILE]

Runs the evirt service in the foreground until a stop signal. It accepts connections once replay
and reconcile are done, then tells systemd it is ready when $NOTIFY_SOCKET is set.

  sockets ($EVIRT_RUNTIME_DIR):
    evirt.sock          the API, read-write (mode 0660)
    evirt-ro.sock       the API, read-only (mode 0666)
    libvirt-sock        libvirt's protocol, read-write
    libvirt-sock-ro     libvirt's protocol, read-only

  configuration file (TOML; 'evirt config show' prints the effective values and their sources):
    --config FILE, else $EVIRT_CONFIG, else /etc/evirt/evirt.toml as root and
    $XDG_CONFIG_HOME/evirt/evirt.toml (else ~/.config/evirt/evirt.toml) as a user. Its keys are
    the variables below in lower case without EVIRT_ (state_dir, listen, etc.); a variable that is
    set overrides its key. An unknown key or a bad value stops the start, naming FILE:LINE.

  environment:
    EVIRT_CONFIG        the configuration file
    EVIRT_STATE_DIR     event log and durable state
    EVIRT_RUNTIME_DIR   sockets and QEMU runtime files
    EVIRT_LISTEN        also serve the API over TCP at HOST:PORT (bearer tokens required)
    EVIRT_TOKENS_FILE   tokens for TCP: lines 'read-write TOKEN' / 'read-only TOKEN' (16+ chars)
    EVIRT_LOG_FORMAT    text (default) or json
    EVIRT_LOG_LEVEL     debug (one line per API call), info (default), warn or error
    NOTIFY_SOCKET       systemd's notify socket (set by systemd for Type=notify)
    (every variable, with its default, is listed in the README)

  signals:
    SIGTERM, SIGINT     stop: listeners close, sockets are removed, running VMs keep running
    SIGHUP              reload: re-read the tokens file (other settings need a restart);
                        with a controlling terminal, the terminal hung up: stop
  The service also stops when a process that launched it in its process group exits (npx or
  deno task killed by a signal they do not pass on).
`;

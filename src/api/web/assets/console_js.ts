/**
 * The web console's consoles (`/ui/console.js`, an ES module the page loads when a console is
 * opened): the serial console in an xterm.js terminal and the VNC display in noVNC, each over
 * the service's WebSocket for the domain (`/v1/domains/:ref/console/socket`,
 * `/v1/domains/:ref/graphics/socket`). Over a session cookie the CSRF token travels as the
 * subprotocol `evirt-csrf.TOKEN` (a browser's WebSocket sends no header). A refusal closes the
 * socket with code 4000 plus libvirt's error code and its message as reason.
 *
 * Kept as a string (no backquote, no dollar-brace inside) so the service and a compiled binary
 * carry it without a build step.
 *
 * @module
 */

/** `GET /ui/console.js`. */
export const CONSOLE_JS = String.raw`
import { Terminal } from "/ui/vendor/xterm.mjs";

const STYLE_NONCE = (document.querySelector("meta[name=evirt-style-nonce]") || {}).content || "";
// xterm.js makes <style> elements; the page's policy admits styles of its own nonce only.
const createElement = Document.prototype.createElement;
Document.prototype.createElement = function (tag, options) {
  const node = createElement.call(this, tag, options);
  if (String(tag).toLowerCase() === "style") node.nonce = STYLE_NONCE;
  return node;
};
if (document.querySelector("link[data-xterm]") === null) {
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/ui/vendor/xterm.css";
  link.dataset.xterm = "";
  document.head.append(link);
}

export const CLOSE_REPLACED = 4001;
const CLOSE_ERROR_BASE = 4000;

function socketUrl(path) {
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
}

function protocols(csrf) {
  return csrf ? ["evirt.v1", "evirt-csrf." + csrf] : ["evirt.v1"];
}

/** The refusal a close code carries, or null. */
export function refusalOf(event) {
  if (event.code <= CLOSE_ERROR_BASE || event.code >= 5000 || event.code === CLOSE_REPLACED) {
    return null;
  }
  return { code: event.code - CLOSE_ERROR_BASE, message: event.reason };
}

/**
 * Opens a domain's serial console in container. writer: keys go to the guest (read-write);
 * force: end another writer's session. onClose gets the close event.
 */
export function openSerialConsole(options) {
  const terminal = new Terminal({
    rows: 24,
    cols: 100,
    disableStdin: !options.writer,
    screenReaderMode: false,
    fontFamily: "monospace",
  });
  terminal.open(options.container);
  const query = options.force ? "?force=1" : "";
  const socket = new WebSocket(
    socketUrl("/v1/domains/" + encodeURIComponent(options.uuid) + "/console/socket" + query),
    protocols(options.csrf),
  );
  socket.binaryType = "arraybuffer";
  socket.addEventListener("open", () => options.onOpen());
  socket.addEventListener("message", (event) => terminal.write(new Uint8Array(event.data)));
  socket.addEventListener("close", (event) => options.onClose(event));
  const encoder = new TextEncoder();
  const typed = terminal.onData((data) => {
    if (options.writer && socket.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
  });
  return {
    terminal,
    socket,
    close() {
      typed.dispose();
      socket.close();
      terminal.dispose();
    },
  };
}

/** Opens a domain's VNC display (noVNC) in container. */
export async function openDisplay(options) {
  const { default: RFB } = await import("/ui/vendor/novnc/core/rfb.js");
  const socket = new WebSocket(
    socketUrl("/v1/domains/" + encodeURIComponent(options.uuid) + "/graphics/socket"),
    protocols(options.csrf),
  );
  socket.binaryType = "arraybuffer";
  const rfb = new RFB(options.container, socket, { shared: true });
  rfb.addEventListener("connect", () => options.onOpen());
  rfb.addEventListener("disconnect", (event) => options.onClose(event.detail));
  socket.addEventListener("close", (event) => {
    const refusal = refusalOf(event);
    if (refusal !== null) options.onRefusal(refusal);
  });
  return {
    rfb,
    close() {
      rfb.disconnect();
    },
  };
}
`;

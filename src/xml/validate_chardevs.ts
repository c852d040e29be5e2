/**
 * The character-device part of `validateDomain`: what each source type needs.
 *
 * @module
 */

import type { Chardev, ChardevSource, DomainDevices } from "../model/domain.ts";
import { ErrorCode } from "../model/errors.ts";
import { invalid } from "./validation_failure.ts";

/** A character device as the checks see it: its type, sources and, for channels, target. */
interface ChardevView {
  type?: string;
  sources: ChardevSource[];
  target?: Chardev["target"];
}

const PATH_TYPES = new Set(["file", "dev", "pipe"]);

/**
 * Checks every character device: serials, parallels, consoles, channels, passthrough
 * smartcards, redirdevs and egd rng backends.
 *
 * @param devices The devices.
 * @throws {VirtError} Code 27 with the device's element path.
 */
export function validateChardevs(devices: DomainDevices): void {
  const groups: [string, ChardevView[], boolean][] = [
    ["serial", devices.serials, false],
    ["parallel", devices.parallels, false],
    ["console", devices.consoles, false],
    ["channel", devices.channels, true],
    ["smartcard", devices.smartcards.filter((card) => card.mode === "passthrough"), false],
    ["redirdev", devices.redirdevs, false],
  ];
  for (const [name, list, isChannel] of groups) {
    list.forEach((chardev, index) =>
      validateChardev(chardev, isChannel, `/domain/devices/${name}[${index + 1}]`)
    );
  }
  devices.rngs.forEach((rng, index) => {
    if (rng.backend.model === "egd") {
      validateChardev(rng.backend, false, `/domain/devices/rng[${index + 1}]/backend`);
    }
  });
}

function validateChardev(chardev: ChardevView, isChannel: boolean, where: string): void {
  const type = chardev.type;
  const sources = chardev.sources;
  if (type === "udp") {
    validateUdp(sources, where);
    return;
  }
  if (sources.length > 1 && (type === "tcp" || type === "unix" || PATH_TYPES.has(type ?? ""))) {
    throw invalid(
      ErrorCode.XML_ERROR,
      `only one source is allowed for char device of type '${type}'`,
      `${where}/source[2]`,
    );
  }
  const source: ChardevSource = sources[0] ?? {};
  const at = sources.length > 0 ? `${where}/source` : where;
  if (PATH_TYPES.has(type ?? "") && source.path === undefined) {
    throw invalid(ErrorCode.XML_ERROR, "Missing source path attribute for char device", at);
  }
  if (type === "tcp") {
    if (source.host === undefined) {
      throw invalid(ErrorCode.XML_ERROR, "Missing source host attribute for char device", at);
    }
    if (source.service === undefined) {
      throw invalid(ErrorCode.XML_ERROR, "Missing source service attribute for char device", at);
    }
  }
  // libvirt generates the socket path of virtio and xen channels itself.
  const generatedPath = isChannel &&
    (chardev.target?.type === "virtio" || chardev.target?.type === "xen");
  if (type === "unix" && source.path === undefined && !generatedPath) {
    throw invalid(ErrorCode.XML_ERROR, "Missing source path attribute for char device", at);
  }
  if (type === "tcp" || type === "unix") validateReconnect(source, at);
}

function validateUdp(sources: ChardevSource[], where: string): void {
  const connect = sources.filter((source) => source.mode !== "bind");
  const bind = sources.filter((source) => source.mode === "bind");
  if (connect.length > 1 || bind.length > 1) {
    throw invalid(
      ErrorCode.XML_ERROR,
      "only one bind and one connect source are allowed for char device of type 'udp'",
      where,
    );
  }
  if (connect[0]?.service === undefined) {
    throw invalid(ErrorCode.XML_ERROR, "Missing source service attribute for char device", where);
  }
}

function validateReconnect(source: ChardevSource, where: string): void {
  const reconnect = source.reconnect;
  if (reconnect === undefined || reconnect.enabled !== "yes") return;
  if (source.mode === "bind") {
    throw invalid(
      ErrorCode.XML_ERROR,
      "chardev reconnect is possible only for connect mode",
      `${where}/reconnect`,
    );
  }
  if (reconnect.timeout === undefined) {
    throw invalid(
      ErrorCode.XML_ERROR,
      "missing timeout for chardev with reconnect enabled",
      `${where}/reconnect`,
    );
  }
  if (reconnect.timeout === 0) {
    throw invalid(
      ErrorCode.INVALID_ARG,
      "chardev reconnect source timeout cannot be '0'",
      `${where}/reconnect`,
    );
  }
}

/**
 * IPv4 and IPv6 addresses as numbers: parsing the numeric forms libvirt accepts, writing them
 * back in the form glibc's `inet_ntop` gives (which is what libvirt prints), prefixes and
 * netmasks, and the range arithmetic network definitions need (is an address inside a
 * network, how many addresses a range holds).
 *
 * @module
 */

/** An address family. */
export type IpFamily = "ipv4" | "ipv6";

/** A parsed address: its family and its value as an unsigned number. */
export interface IpAddress {
  /** The family. */
  family: IpFamily;
  /** The address as a 32- or 128-bit unsigned number. */
  value: bigint;
}

/** Bits in an address of each family. */
export const IP_BITS: Readonly<Record<IpFamily, number>> = { ipv4: 32, ipv6: 128 };

const IPV4_PATTERN = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * Parses a numeric IPv4 (dotted quad) or IPv6 address.
 *
 * @param text The address text.
 * @returns The address, or undefined when `text` is neither.
 *
 * @example
 * ```ts
 * import { parseIp } from "./ip_address.ts";
 * console.log(parseIp("192.168.122.1")?.value, parseIp("::1")?.value); // 3232266753n 1n
 * ```
 */
export function parseIp(text: string): IpAddress | undefined {
  const v4 = parseInetAton(text);
  if (v4 !== undefined) return { family: "ipv4", value: v4 };
  const v6 = parseIpv6(text);
  if (v6 !== undefined) return { family: "ipv6", value: v6 };
  return undefined;
}

/** A strict dotted quad of decimal octets (the IPv4 tail of an IPv6 address). */
function parseIpv4(text: string): bigint | undefined {
  const match = IPV4_PATTERN.exec(text);
  if (match === null) return undefined;
  let value = 0n;
  for (let index = 1; index <= 4; index++) {
    const octet = Number(match[index]);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

const INET_ATON_PART = /^(0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*)$/;

/**
 * An IPv4 address as glibc's numeric `getaddrinfo` (inet_aton) reads it, which libvirt uses:
 * one to four parts, each decimal, octal (leading `0`) or hex (`0x`), the last filling the
 * remaining bytes (`10.1` is 10.0.0.1, `010.0.0.1` is 8.0.0.1).
 */
function parseInetAton(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length > 4) return undefined;
  const values: bigint[] = [];
  for (const part of parts) {
    if (!INET_ATON_PART.test(part)) return undefined;
    const lower = part.toLowerCase();
    const value = lower.startsWith("0x")
      ? BigInt(lower.length === 2 ? "0" : lower)
      : lower.length > 1 && lower.startsWith("0")
      ? BigInt(`0o${lower.slice(1)}`)
      : BigInt(lower);
    values.push(value);
  }
  const last = values.length - 1;
  const lastBits = BigInt(32 - 8 * last);
  let value = 0n;
  for (let index = 0; index < last; index++) {
    if (values[index] > 255n) return undefined;
    value = (value << 8n) | values[index];
  }
  if (values[last] >= (1n << lastBits)) return undefined;
  return (value << lastBits) | values[last];
}

function parseIpv6(text: string): bigint | undefined {
  if (text.length === 0 || text.length > 45) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 2 ? (halves[1] === "" ? [] : halves[1].split(":")) : [];
  const groups = (parts: string[], last: boolean): number[] | undefined => {
    const words: number[] = [];
    for (let index = 0; index < parts.length; index++) {
      const part = parts[index];
      if (last && index === parts.length - 1 && part.includes(".")) {
        const v4 = parseIpv4(part);
        if (v4 === undefined) return undefined;
        words.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (HEX_GROUP.test(part)) {
        words.push(parseInt(part, 16));
      } else {
        return undefined;
      }
    }
    return words;
  };
  const headWords = groups(head, halves.length === 1);
  const tailWords = groups(tail, true);
  if (headWords === undefined || tailWords === undefined) return undefined;
  const count = headWords.length + tailWords.length;
  if (halves.length === 1 ? count !== 8 : count > 7) return undefined;
  const words = [...headWords, ...new Array(8 - count).fill(0), ...tailWords];
  let value = 0n;
  for (const word of words) value = (value << 16n) | BigInt(word);
  return value;
}

/**
 * Writes an address as libvirt prints it: a dotted quad, or IPv6 in `inet_ntop`'s form
 * (lower-case, the longest run of two or more zero groups as `::`, an IPv4 tail for mapped
 * and compatible addresses).
 *
 * @example
 * ```ts
 * import { formatIp, parseIp } from "./ip_address.ts";
 * console.log(formatIp(parseIp("2001:DB8:0:0::0:1")!)); // "2001:db8::1"
 * ```
 */
export function formatIp(address: IpAddress): string {
  if (address.family === "ipv4") return formatIpv4(address.value);
  const words: number[] = [];
  for (let index = 7; index >= 0; index--) {
    words.push(Number((address.value >> BigInt(index * 16)) & 0xffffn));
  }
  let bestBase = -1;
  let bestLength = 0;
  for (let index = 0; index < 8;) {
    if (words[index] !== 0) {
      index++;
      continue;
    }
    let end = index;
    while (end < 8 && words[end] === 0) end++;
    if (end - index > bestLength) {
      bestBase = index;
      bestLength = end - index;
    }
    index = end;
  }
  if (bestLength < 2) bestBase = -1;
  const v4Tail = bestBase === 0 && (bestLength === 6 || (bestLength === 5 && words[5] === 0xffff));
  let out = "";
  for (let index = 0; index < 8; index++) {
    if (index === bestBase) {
      out += "::";
      index += bestLength - 1;
      continue;
    }
    if (index === 6 && v4Tail) {
      if (!out.endsWith(":")) out += ":";
      out += formatIpv4(address.value & 0xffffffffn);
      break;
    }
    if (out !== "" && !out.endsWith(":")) out += ":";
    out += words[index].toString(16);
  }
  return out;
}

function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
}

/** The all-ones mask of a family. */
function allOnes(family: IpFamily): bigint {
  return (1n << BigInt(IP_BITS[family])) - 1n;
}

/**
 * The netmask with `prefix` leading one bits.
 *
 * @example
 * ```ts
 * import { formatIp, netmaskOfPrefix } from "./ip_address.ts";
 * console.log(formatIp({ family: "ipv4", value: netmaskOfPrefix("ipv4", 24) })); // "255.255.255.0"
 * ```
 */
export function netmaskOfPrefix(family: IpFamily, prefix: number): bigint {
  const bits = BigInt(IP_BITS[family]);
  return allOnes(family) ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/**
 * The prefix length of a netmask, or undefined when its one bits are not contiguous.
 *
 * @example
 * ```ts
 * import { parseIp, prefixOfNetmask } from "./ip_address.ts";
 * console.log(prefixOfNetmask(parseIp("255.255.255.0")!)); // 24
 * ```
 */
export function prefixOfNetmask(netmask: IpAddress): number | undefined {
  const bits = IP_BITS[netmask.family];
  for (let prefix = 0; prefix <= bits; prefix++) {
    if (netmaskOfPrefix(netmask.family, prefix) === netmask.value) return prefix;
  }
  return undefined;
}

/**
 * The prefix libvirt uses for an address (virSocketAddrGetIPPrefix): the explicit prefix, else
 * the netmask's, else the classful prefix of an IPv4 address (8, 16 or 24), else 64 for IPv6.
 *
 * @returns The prefix, or undefined when none can be found (a class D or E IPv4 address).
 *
 * @example
 * ```ts
 * import { effectivePrefix, parseIp } from "./ip_address.ts";
 * console.log(effectivePrefix(parseIp("10.24.10.1")!, undefined, undefined)); // 8
 * ```
 */
export function effectivePrefix(
  address: IpAddress,
  netmask: IpAddress | undefined,
  prefix: number | undefined,
): number | undefined {
  if (prefix !== undefined && prefix > 0) return prefix;
  if (netmask !== undefined) return prefixOfNetmask(netmask);
  if (address.family === "ipv6") return 64;
  const octet = Number(address.value >> 24n);
  if ((octet & 0x80) === 0) return 8;
  if ((octet & 0xc0) === 0x80) return 16;
  if ((octet & 0xe0) === 0xc0) return 24;
  return undefined;
}

/**
 * The network part of an address under `prefix` (host bits cleared).
 *
 * @example
 * ```ts
 * import { formatIp, networkOf, parseIp } from "./ip_address.ts";
 * console.log(formatIp(networkOf(parseIp("192.168.122.1")!, 24))); // "192.168.122.0"
 * ```
 */
export function networkOf(address: IpAddress, prefix: number): IpAddress {
  return { family: address.family, value: address.value & netmaskOfPrefix(address.family, prefix) };
}

/** The last address of the network `address/prefix` (its broadcast address for IPv4). */
export function lastOf(address: IpAddress, prefix: number): IpAddress {
  const hostBits = allOnes(address.family) ^ netmaskOfPrefix(address.family, prefix);
  return { family: address.family, value: address.value | hostBits };
}

/**
 * Whether `candidate` lies in the network `network/prefix`.
 *
 * @example
 * ```ts
 * import { inNetwork, parseIp } from "./ip_address.ts";
 * console.log(inNetwork(parseIp("192.168.122.9")!, parseIp("192.168.122.1")!, 24)); // true
 * ```
 */
export function inNetwork(candidate: IpAddress, network: IpAddress, prefix: number): boolean {
  if (candidate.family !== network.family) return false;
  const mask = netmaskOfPrefix(network.family, prefix);
  return (candidate.value & mask) === (network.value & mask);
}

/** Whether two networks overlap (one contains the other's first address). */
export function networksOverlap(
  first: IpAddress,
  firstPrefix: number,
  second: IpAddress,
  secondPrefix: number,
): boolean {
  if (first.family !== second.family) return false;
  const prefix = Math.min(firstPrefix, secondPrefix);
  return inNetwork(first, second, prefix);
}

/** Whether two addresses are the same. */
export function sameIp(first: IpAddress, second: IpAddress): boolean {
  return first.family === second.family && first.value === second.value;
}

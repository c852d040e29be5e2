/**
 * A connection's view of the host limited to the domain types its URI names, as libvirt's
 * per-driver connections see only their driver's domains: `lxc:///system` lists, looks up,
 * defines and commands only `type='lxc'` domains; `qemu:///system` all but those. A domain
 * outside the scope is "not found" (code 42), as on another libvirt driver; a definition of
 * another type is refused as libvirt's driver refuses it (code 8, no capabilities for it).
 *
 * The view is the host itself behind a proxy (every method runs on the real host), so it adds
 * no state and nothing to keep in step.
 *
 * @module
 */

import type { Host } from "./host.ts";
import type { DomainDefinition } from "../src/model/domain.ts";
import type { DomainSummary } from "../src/model/domain_list.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";

/** Which domain types a connection sees. */
export type DomainTypeScope = (type: string) => boolean;

/** The LXC driver's connection (`lxc:///system`): containers only. */
export const LXC_DOMAINS: DomainTypeScope = (type) => type === "lxc";

/** The QEMU driver's connection (`qemu:///system`): every domain but containers. */
export const NON_LXC_DOMAINS: DomainTypeScope = (type) => type !== "lxc";

/**
 * The scope a connection's driver name gives (`lxc`, `qemu`); undefined for every domain.
 *
 * @example
 * ```ts
 * import { scopeOfDriver } from "./domain_type_scope.ts";
 * console.log(scopeOfDriver("lxc")?.("lxc"), scopeOfDriver("qemu")?.("lxc")); // true false
 * ```
 */
export function scopeOfDriver(driver: string): DomainTypeScope | undefined {
  if (driver === "lxc") return LXC_DOMAINS;
  if (driver === "qemu") return NON_LXC_DOMAINS;
  return undefined;
}

/** Host methods whose first argument names one domain (name, uuid or id). */
const REFERENCE_METHODS: ReadonlySet<string> = new Set([
  "lookup",
  "context",
  "info",
  "inspect",
  "consolePath",
  "command",
  "undefine",
  "start",
  "shutdown",
  "destroy",
  "reboot",
  "reset",
  "suspend",
  "resume",
  "setAutostart",
  "setMetadata",
  "changeDevice",
  "endBlockJob",
]);

/** Host methods whose second argument names one domain (`command(name, reference, …)`). */
const SECOND_ARGUMENT_REFERENCE: ReadonlySet<string> = new Set(["command"]);

/** Host methods that take a definition first. */
const DEFINITION_METHODS: ReadonlySet<string> = new Set(["define", "create"]);

/**
 * The host as a connection scoped to `inScope` sees it.
 *
 * @param host The service's host.
 * @param inScope Whether a domain type is visible.
 * @returns A view with the host's methods; references outside the scope are not found.
 *
 * @example
 * ```ts ignore
 * const lxc = scopedHost(service.host, (type) => type === "lxc");
 * console.log(lxc.list().map((domain) => domain.name)); // only containers
 * ```
 */
export function scopedHost(host: Host, inScope: DomainTypeScope): Host {
  const typeOf = (reference: string): string | undefined => {
    const context = host.context(reference);
    return (context.live ?? context.definition)?.type;
  };
  const visible = (reference: string): boolean => {
    const type = typeOf(reference);
    return type === undefined || inScope(type);
  };
  const require = (reference: string): void => {
    if (!visible(reference)) {
      throw new VirtError(ErrorCode.NO_DOMAIN, `no domain with matching ${describe(reference)}`);
    }
  };
  const overrides: Record<string, unknown> = {
    list: (...args: Parameters<Host["list"]>): DomainSummary[] =>
      host.list(...args).filter((summary) => visible(summary.uuid)),
    uuidOfName: (name: string): string | undefined => {
      const uuid = host.uuidOfName(name);
      return uuid !== undefined && visible(uuid) ? uuid : undefined;
    },
  };
  return new Proxy(host, {
    get(target, property, _receiver) {
      if (typeof property === "string" && Object.hasOwn(overrides, property)) {
        return overrides[property];
      }
      const value = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      const name = typeof property === "string" ? property : "";
      return (...args: unknown[]) => {
        const position = SECOND_ARGUMENT_REFERENCE.has(name) ? 1 : 0;
        if (REFERENCE_METHODS.has(name) && typeof args[position] === "string") {
          require(args[position] as string);
        }
        if (DEFINITION_METHODS.has(name)) refuseOutOfScope(args[0] as DomainDefinition, inScope);
        return value.apply(target, args);
      };
    },
  });
}

/** How libvirt's lookup names a reference in its "not found" message. */
function describe(reference: string): string {
  if (/^[0-9]+$/.test(reference)) return `id ${reference}`;
  if (/^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$/.test(reference)) {
    return `uuid '${reference}'`;
  }
  return `name '${reference}'`;
}

/**
 * Refuses a definition of a type outside the scope, as libvirt's driver does when its
 * capabilities have no guest of that type.
 */
function refuseOutOfScope(definition: DomainDefinition, inScope: DomainTypeScope): void {
  if (inScope(definition.type)) return;
  const ostype = definition.os.type === "exe" ? "ostype=exe " : "";
  throw new VirtError(
    ErrorCode.INVALID_ARG,
    `could not find capabilities for ${ostype}arch=${
      definition.os.arch ?? "x86_64"
    } domaintype=${definition.type} `,
    { where: "/domain/@type" },
  );
}

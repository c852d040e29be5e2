/**
 * The in-process `test:///default` connection: like virsh's, it needs no service and keeps
 * nothing — each invocation gets a fresh in-memory host with libvirt's default objects, and
 * `EVIRT_STATE_DIR` is never touched.
 *
 * The default domain is built from domain XML, parsed, given libvirt's defaults and validated as a
 * define does, and then loaded as recorded facts, as libvirt's test driver loads (not boots) its
 * default state: the host replays them, so the domain is running (unknown) as id 1 and the next
 * domain started gets id 2 (reference §7). Each request is answered once the consequences of the
 * previous ones have happened (a guest's shutdown, a reboot), as libvirt's synchronous test
 * driver does, so a command chain reads the state virsh's would.
 *
 * @module
 */

import { TEST_NODE_INFO, TestDriver } from "../../drivers/test/test_driver.ts";
import type { EventStore } from "../log/event_store.ts";
import { createMemoryStore } from "../log/memory_store.ts";
import { applyDomainDefaults } from "../model/domain_defaults.ts";
import { type DomainFact, domainStream } from "../model/facts.ts";
import { createServiceCore, type ServiceCore } from "./service_core.ts";
import { parseDomainXml, validateDomain } from "../xml/mod.ts";

/**
 * libvirt's default test domain: `test`, running as id 1, 8 GiB max / 2 GiB current memory,
 * 2 vCPUs, disk `vda` at `/guest/diskimage1`, a NIC on network `default` with MAC
 * aa:bb:cc:dd:ee:ff, and a balloon. The uuid and the PCI addresses are the ones libvirt's test
 * driver gives it (the disk on bus 1, as libvirt's: the test driver checks no PCI topology).
 */
export const TEST_DEFAULT_DOMAIN_XML = `<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory unit='KiB'>8388608</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default'/>
      <target dev='testnet0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
</domain>
`;

/** Options of {@linkcode openTestHypervisor}. */
export interface TestHypervisorOptions {
  /** Largest domain XML the API accepts, in bytes. */
  xmlMaxBytes: number;
  /** Where the host's operational messages go. Default: stderr with an `evirt:` prefix. */
  log?: (message: string) => void;
}

/**
 * Opens a fresh in-memory host with the test hypervisor and libvirt's default running domain.
 *
 * @returns The host and its API; `close()` it when done.
 * @throws {VirtError} If the default domain cannot be defined or started (a bug).
 *
 * @example
 * ```ts ignore
 * const core = await openTestHypervisor({ xmlMaxBytes: 4 * 1024 * 1024 });
 * console.log(core.host.list().map((domain) => domain.name)); // ["test"]
 * await core.close();
 * ```
 */
export async function openTestHypervisor(options: TestHypervisorOptions): Promise<ServiceCore> {
  const store = createMemoryStore();
  await recordDefaultDomain(store);
  return await createServiceCore({
    store,
    drivers: [new TestDriver({ asLibvirtTestDriver: true })],
    xmlMaxBytes: options.xmlMaxBytes,
    nodeInfo: () => TEST_NODE_INFO,
    hostname: () => Deno.hostname(),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
}

/** The id libvirt's test driver gives its default domain. */
const TEST_DEFAULT_DOMAIN_ID = 1;

/** Records libvirt's default domain as defined, launched and running (unknown). */
async function recordDefaultDomain(store: EventStore): Promise<void> {
  const definition = applyDomainDefaults(parseDomainXml(TEST_DEFAULT_DOMAIN_XML));
  validateDomain(definition, { live: false });
  const facts: DomainFact[] = [
    { type: "domain.defined", body: { definition, detail: "added" } },
    {
      type: "domain.launched",
      body: {
        id: TEST_DEFAULT_DOMAIN_ID,
        definition: null,
        persistent: true,
        runtime: { driver: "test", launchedAtMs: Date.now() },
      },
    },
    { type: "domain.started", body: { detail: "booted", reason: "unknown" } },
  ];
  await store.append(
    domainStream(definition.uuid!),
    facts.map((fact) => ({ type: fact.type, body: fact.body as never })),
    0,
  );
}

/**
 * Waits until what earlier requests set going has happened: the test hypervisor's zero-latency
 * guest reactions (timers) have fired and every domain's queue is empty.
 *
 * @param core The in-process service.
 *
 * @example
 * ```ts ignore
 * await core.host.shutdown("test");
 * await settle(core);
 * console.log(core.host.lookup("test").state); // 5: shut off
 * ```
 */
export async function settle(core: ServiceCore): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  await core.host.idle();
}

/**
 * The QEMU guest agent's place in a definition: the `org.qemu.guest_agent.0` virtio channel.
 * One answer for every caller that asks whether a domain has an agent (shutdown and reboot
 * `--mode agent`, `qemu-agent-command`, the agent queries of libvirt's protocol).
 *
 * @module
 */

import type { DomainDefinition } from "./domain.ts";

/** The virtio channel name of the QEMU guest agent. */
export const GUEST_AGENT_CHANNEL = "org.qemu.guest_agent.0";

/**
 * The position of the agent channel in `<devices>`' channel list, or -1 when there is none.
 *
 * @example
 * ```ts
 * import { agentChannelIndex } from "./guest_agent_channel.ts";
 * const channels = [{ type: "unix", sources: [], target: { type: "virtio", name: "org.qemu.guest_agent.0" } }];
 * console.log(agentChannelIndex({ devices: { channels } } as never)); // 0
 * ```
 */
export function agentChannelIndex(definition: Pick<DomainDefinition, "devices">): number {
  return definition.devices.channels.findIndex((channel) =>
    channel.target?.type === "virtio" && channel.target.name === GUEST_AGENT_CHANNEL
  );
}

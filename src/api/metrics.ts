/**
 * The service's counters and their Prometheus text form (`GET /metrics`).
 *
 * Gauges that derive from state (domains by state, log positions, subscribers) are computed at
 * scrape time; counters (operations, errors) are kept here. Label sets are bounded: operations
 * and error codes come from fixed lists, never from user input.
 *
 * @module
 */

import type { Host } from "../../actors/host.ts";
import type { EventStore } from "../log/event_store.ts";
import { errorCodeName } from "../model/errors.ts";
import { STATE_NAMES } from "../model/lifecycle.ts";
import type { ConnectionGate } from "./connection_limits.ts";

/**
 * Who follows the event stream: SSE and WebSocket subscribers of `GET /v1/events`, libvirt
 * protocol event callbacks (domain, pool and network), fleet stream subscribers.
 */
export type SubscriberKind = "sse" | "websocket" | "rpc" | "fleet";

/** Subscribers by kind (`GET /v1/host/summary`). */
export type SubscriberCounts = Record<SubscriberKind, number>;

/** The service's metrics. */
export class Metrics {
  readonly #operations = new Map<string, number>();
  readonly #errors = new Map<number, number>();
  readonly #byKind: SubscriberCounts = { sse: 0, websocket: 0, rpc: 0, fleet: 0 };
  /** Told of every change of {@linkcode Metrics.subscribersByKind} (bounded by the streams'). */
  readonly #subscriberWatchers = new Set<() => void>();
  #subscribersDropped = 0;
  #requests = 0;
  #connections: ConnectionGate | undefined;

  /** Reports the listeners' connection pools from now on. */
  attachConnections(gate: ConnectionGate): void {
    this.#connections = gate;
  }

  /** Counts one API operation and its outcome. */
  operation(name: string, outcome: "ok" | "error"): void {
    const key = `${name}\u0000${outcome}`;
    this.#operations.set(key, (this.#operations.get(key) ?? 0) + 1);
  }

  /** Counts one error answered, by libvirt code. */
  error(code: number): void {
    this.#errors.set(code, (this.#errors.get(code) ?? 0) + 1);
  }

  /** Counts one HTTP request. */
  request(): void {
    this.#requests++;
  }

  /** A subscriber of a kind joined (+1) or left (-1); RPC callbacks may leave many at once. */
  subscriber(delta: number, kind: SubscriberKind): void {
    this.#byKind[kind] += delta;
    for (const watcher of this.#subscriberWatchers) watcher();
  }

  /**
   * Calls `watcher` (synchronously, so it must only note the change) whenever a count of
   * {@linkcode Metrics.subscribersByKind} changes; returns what stops it. Only event-stream
   * subscribers watch, so the watchers are bounded by the stream's subscriber limit.
   */
  watchSubscribers(watcher: () => void): () => void {
    this.#subscriberWatchers.add(watcher);
    return () => this.#subscriberWatchers.delete(watcher);
  }

  /** A subscriber was dropped for being slow. */
  subscriberDropped(): void {
    this.#subscribersDropped++;
  }

  /** Subscribers of `GET /v1/events` (SSE and WebSocket) connected now: what its limit bounds. */
  get subscribers(): number {
    return this.#byKind.sse + this.#byKind.websocket;
  }

  /** Every kind's subscribers now (a copy). */
  subscribersByKind(): SubscriberCounts {
    return { ...this.#byKind };
  }

  /** The Prometheus text exposition (version 0.0.4). */
  render(host: Host, store: EventStore): string {
    const lines: string[] = [];
    const family = (name: string, type: string, help: string) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    family("evirt_domains", "gauge", "Domains by libvirt state.");
    const byState = new Map<number, number>();
    let pendingFacts = 0;
    for (const domain of host.list()) {
      byState.set(domain.state, (byState.get(domain.state) ?? 0) + 1);
      pendingFacts += domain.pendingFacts?.facts ?? 0;
    }
    STATE_NAMES.forEach((name, state) => {
      // Label values without spaces (`shut_off`): dashboards match them without quoting.
      lines.push(`evirt_domains{state="${name.replaceAll(" ", "_")}"} ${byState.get(state) ?? 0}`);
    });
    family("evirt_operations_total", "counter", "API operations by outcome.");
    for (const [key, count] of [...this.#operations].sort()) {
      const [operation, outcome] = key.split("\u0000");
      lines.push(`evirt_operations_total{operation="${operation}",outcome="${outcome}"} ${count}`);
    }
    family("evirt_errors_total", "counter", "Errors answered, by libvirt error code.");
    for (const [code, count] of [...this.#errors].sort((a, b) => a[0] - b[0])) {
      lines.push(`evirt_errors_total{code="${code}",name="${errorCodeName(code)}"} ${count}`);
    }
    family("evirt_http_requests_total", "counter", "HTTP requests received.");
    lines.push(`evirt_http_requests_total ${this.#requests}`);
    family("evirt_log_head_position", "gauge", "Position of the last durable fact.");
    lines.push(`evirt_log_head_position ${store.headPosition()}`);
    family("evirt_log_oldest_position", "gauge", "Oldest position still readable.");
    lines.push(`evirt_log_oldest_position ${store.oldestPosition()}`);
    family(
      "evirt_log_pending_facts",
      "gauge",
      "Facts of what the hypervisor did that the log refused so far (a full disk).",
    );
    lines.push(`evirt_log_pending_facts ${pendingFacts}`);
    family("evirt_event_subscribers", "gauge", "Event stream subscribers connected.");
    lines.push(`evirt_event_subscribers ${this.subscribers}`);
    family(
      "evirt_event_subscribers_dropped_total",
      "counter",
      "Subscribers dropped for being slow.",
    );
    lines.push(`evirt_event_subscribers_dropped_total ${this.#subscribersDropped}`);
    const gate = this.#connections;
    if (gate !== undefined) {
      family("evirt_connections", "gauge", "Open connections by pool.");
      for (const [pool, held] of Object.entries(gate.held)) {
        lines.push(`evirt_connections{pool="${pool}"} ${held}`);
      }
      family("evirt_connections_max", "gauge", "Connections each pool may hold.");
      for (const [pool, max] of Object.entries(gate.capacity)) {
        lines.push(`evirt_connections_max{pool="${pool}"} ${max}`);
      }
      family(
        "evirt_connections_refused_total",
        "counter",
        "Connections refused because their pool was full.",
      );
      lines.push(`evirt_connections_refused_total ${gate.refused}`);
    }
    return lines.join("\n") + "\n";
  }
}

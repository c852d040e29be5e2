/**
 * The web console's script: a small page app over the API and its event stream. Pages: the host
 * (node info, domain counts by state, the domain list whose state and reason follow the event
 * stream, narrowed by virsh list's filters kept in the address, e.g.
 * `#/?filter=running,autostart`, and, for a read-write caller, an autostart switch per persistent
 * domain) and a domain (summary, definition XML, block info per disk, its event history from the
 * log, the actions the caller's role allows, undefine with a confirmation, and the serial and
 * VNC consoles, loaded from `/ui/console.js` when opened); a read-write caller also defines a
 * domain from pasted XML, with libvirt's error and its location shown. Every element is built with
 * DOM calls, never from HTML text, so names and messages from the service cannot inject markup.
 *
 * Kept as a string (no backquote, no dollar-brace inside) so the service and a compiled binary
 * carry it without a build step.
 *
 * @module
 */

/** `GET /ui/app.js`. */
export const APP_JS = String.raw`
"use strict";
const CSRF_HEADER = "x-evirt-csrf";
const ACTIONS = ["start", "shutdown", "reboot", "suspend", "resume", "destroy"];
const session = { role: "read-only", csrf: null, transport: "unix" };
let stopPage = () => {};

function el(tag, attributes, children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = String(value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children || []) {
    if (child !== null && child !== undefined) {
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
  }
  return node;
}

function main() { return document.getElementById("main"); }

function showError(error) {
  const box = document.getElementById("error");
  box.replaceChildren();
  if (error === null) return;
  box.append(el("strong", { text: error.code === undefined ? "error" : "error " + error.code }));
  if (error.name) box.append(" (" + error.name + ")");
  box.append(": " + error.message);
  if (error.where) box.append(el("span", { "data-field": "where", text: " (at " + error.where + ")" }));
  box.dataset.code = error.code === undefined ? "" : String(error.code);
}

class ApiError extends Error {
  constructor(status, body) {
    const detail = body && body.error ? body.error : { message: "HTTP " + status };
    super(detail.message);
    this.status = status;
    this.code = detail.code;
    this.name = detail.name || "";
    this.where = detail.where;
  }
}

async function api(method, path, accept, body) {
  const headers = { accept: accept || "application/json" };
  if (session.csrf !== null && method !== "GET") headers[CSRF_HEADER] = session.csrf;
  if (body !== undefined) headers["content-type"] = body.type;
  const response = await fetch(path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : body.text,
  });
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch { body = null; }
    throw new ApiError(response.status, body);
  }
  if (accept === "text") return await response.text();
  const text = await response.text();
  return text === "" ? null : JSON.parse(text);
}

function domainPath(ref) { return "/v1/domains/" + encodeURIComponent(ref); }

function stateClass(stateName) { return "state-" + String(stateName).replace(/[^a-z]+/g, "-"); }

function stateCell(summary) {
  return el("td", { class: stateClass(summary.stateName), "data-field": "state" }, [
    summary.stateName,
  ]);
}

async function boot() {
  try {
    const answer = await fetch("/ui/session", { credentials: "same-origin" });
    if (answer.status === 401) return showLogin();
    if (!answer.ok) throw new ApiError(answer.status, await answer.json());
    Object.assign(session, await answer.json());
  } catch (error) {
    main().replaceChildren(el("p", { text: "The service did not answer: " + error.message }));
    return;
  }
  document.getElementById("who").textContent = "role: " + session.role;
  const logout = document.getElementById("logout");
  logout.hidden = session.transport !== "tcp";
  logout.addEventListener("click", async () => {
    await fetch("/ui/logout", { method: "POST", headers: { [CSRF_HEADER]: session.csrf } });
    location.reload();
  });
  addEventListener("hashchange", route);
  route();
}

function showLogin() {
  const failed = new URLSearchParams(location.search).get("login") === "failed";
  main().replaceChildren(
    el("h1", { text: "Log in to evirt" }),
    failed ? el("p", { role: "alert", text: "That token is not accepted." }) : null,
    el("form", { method: "post", action: "/ui/login", id: "login" }, [
      el("label", { for: "token", text: "API token" }),
      el("input", { id: "token", name: "token", type: "password", autocomplete: "current-password", required: true }),
      el("button", { type: "submit", text: "Log in" }),
    ]),
  );
}

function route() {
  stopPage();
  stopPage = () => {};
  showError(null);
  delete document.body.dataset.ready;
  const hash = location.hash.replace(/^#/, "");
  const match = /^\/domain\/(.+)$/.exec(hash);
  if (match !== null) return domainPage(decodeURIComponent(match[1]));
  const query = new URLSearchParams(hash.replace(/^[^?]*\??/, ""));
  return hostPage(listFiltersOf(query.get("filter")));
}

/**
 * virsh list's filters, named as the API's list query flags, with virsh's option for each; the
 * page shows every domain when none is set (virsh list --all).
 */
const LIST_FILTERS = [
  ["active", "active (virsh list without --all)"], ["inactive", "--inactive"],
  ["persistent", "--persistent"], ["transient", "--transient"],
  ["running", "--state-running"], ["paused", "--state-paused"],
  ["shutoff", "--state-shutoff"], ["other", "--state-other"],
  ["managed_save", "--with-managed-save"], ["no_managed_save", "--without-managed-save"],
  ["autostart", "--autostart"], ["no_autostart", "--no-autostart"],
];

/** The set filters named in the address's filter parameter; unknown names are ignored. */
function listFiltersOf(text) {
  const names = new Set((text || "").split(","));
  return new Set(LIST_FILTERS.map(([name]) => name).filter((name) => names.has(name)));
}

/** virDomainState values the state filters name. */
const STATE_RUNNING = 1, STATE_PAUSED = 3, STATE_SHUTOFF = 5;

/**
 * Whether a domain summary passes the filters as the API's list does: within each pair and
 * within the state group the set flags are alternatives; the groups must all hold.
 */
function matchesFilters(summary, filters) {
  const pairs = [
    ["active", "inactive", summary.active], ["persistent", "transient", summary.persistent],
    ["autostart", "no_autostart", summary.autostart],
    ["managed_save", "no_managed_save", summary.managedSave === true],
  ];
  for (const [yes, no, value] of pairs) {
    const wantYes = filters.has(yes), wantNo = filters.has(no);
    if ((wantYes || wantNo) && !((wantYes && value) || (wantNo && !value))) return false;
  }
  const states = ["running", "paused", "shutoff", "other"].filter((name) => filters.has(name));
  if (states.length === 0) return true;
  const state = summary.state;
  const other = state !== STATE_RUNNING && state !== STATE_PAUSED && state !== STATE_SHUTOFF;
  return (filters.has("running") && state === STATE_RUNNING) ||
    (filters.has("paused") && state === STATE_PAUSED) ||
    (filters.has("shutoff") && state === STATE_SHUTOFF) || (filters.has("other") && other);
}

/** The filter form; a change moves to the address with the new filters. */
function filterForm(filters) {
  const boxes = LIST_FILTERS.map(([name, option]) => {
    const id = "filter-" + name;
    const box = el("input", { type: "checkbox", id, name: "filter", value: name, checked: filters.has(name) });
    return el("label", { for: id, class: "filter" }, [box, " " + option]);
  });
  return el("form", { id: "filters", onchange: (event) => {
    const chosen = [...event.currentTarget.querySelectorAll("input[name=filter]:checked")].map((box) => box.value);
    location.hash = chosen.length === 0 ? "#/" : "#/?filter=" + chosen.join(",");
  }, onsubmit: (event) => event.preventDefault() }, [
    el("fieldset", {}, [el("legend", { text: "Filters (virsh list)" }), ...boxes]),
  ]);
}

/** Autostart of a listed domain: a switch for a read-write caller's persistent domain. */
function autostartCell(summary, onChanged) {
  if (session.role !== "read-write" || !summary.persistent) {
    return el("td", { "data-field": "autostart", text: summary.autostart ? "yes" : "no" });
  }
  const box = el("input", {
    type: "checkbox", "data-autostart": summary.name, checked: summary.autostart,
    "aria-label": "autostart " + summary.name,
    onchange: async () => {
      showError(null);
      box.disabled = true;
      try {
        onChanged(await api("PUT", domainPath(summary.uuid) + "/autostart", undefined, {
          type: "application/json", text: JSON.stringify({ autostart: box.checked }),
        }));
      } catch (error) {
        box.checked = !box.checked;
        box.disabled = false;
        showError(error);
      }
    },
  });
  return el("td", { "data-field": "autostart" }, [box]);
}

/**
 * Follows the event stream; calls onMessage with each parsed message, once per position (a
 * reconnect may resend). When the stream refuses query (a history older than retention answers
 * 410), it follows fallbackQuery instead. onSummary, when given, takes each host summary the
 * stream pushes (asked with summary=true). Returns a stop function.
 */
function follow(query, onMessage, onOpen, fallbackQuery, onSummary) {
  let lastPosition = -1;
  let source = null;
  const open = (text, fallback) => {
    let opened = false;
    source = new EventSource("/v1/events" + text, { withCredentials: true });
    source.addEventListener("open", () => { opened = true; if (onOpen) onOpen(); });
    source.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.position <= lastPosition) return;
      lastPosition = message.position;
      onMessage(message);
    });
    if (onSummary) source.addEventListener("summary", (event) => onSummary(JSON.parse(event.data)));
    source.addEventListener("dropped", (event) => {
      showError({ message: "event stream dropped: " + JSON.parse(event.data).reason });
    });
    source.addEventListener("error", () => {
      if (!opened && source.readyState === EventSource.CLOSED && fallback !== undefined) {
        open(fallback, undefined);
      }
    });
  };
  open(query, fallbackQuery);
  return () => source.close();
}

async function hostPage(filters) {
  const rows = new Map();
  const logSummary = hostSummary();
  const counts = el("dl", { id: "counts" });
  const body = el("tbody", { id: "domains" });
  main().replaceChildren(
    el("h1", { text: "Host" }),
    el("dl", { id: "node" }),
    el("h2", { text: "Log and subscribers" }),
    logSummary.list,
    el("h2", { text: "Domains by state" }),
    counts,
    el("h2", { text: "Domains" }),
    filterForm(filters),
    el("table", { "aria-label": "domains" }, [
      el("thead", {}, [el("tr", {}, [
        el("th", { scope: "col", text: "Id" }),
        el("th", { scope: "col", text: "Name" }),
        el("th", { scope: "col", text: "State" }),
        el("th", { scope: "col", text: "Reason" }),
        el("th", { scope: "col", text: "Autostart" }),
        el("th", { scope: "col", text: "Persistent" }),
      ])]),
      body,
    ]),
    session.role === "read-write" ? defineForm() : null,
  );
  const pending = new Map();
  const render = (summary) => {
    const old = rows.get(summary.uuid);
    if (!matchesFilters(summary, filters)) {
      if (old) { old.row.remove(); rows.delete(summary.uuid); }
      return;
    }
    const row = el("tr", { "data-uuid": summary.uuid, "data-name": summary.name }, [
      el("td", { text: summary.id === null ? "-" : summary.id }),
      el("td", {}, [el("a", { href: "#/domain/" + encodeURIComponent(summary.name), text: summary.name })]),
      stateCell(summary),
      el("td", { "data-field": "reason", text: summary.reasonName }),
      autostartCell(summary, (answer) => { render(answer); renderCounts(); }),
      el("td", { text: summary.persistent ? "yes" : "no" }),
    ]);
    rows.set(summary.uuid, { summary, row });
    if (old) old.row.replaceWith(row); else body.append(row);
  };
  const renderCounts = () => {
    const byState = new Map();
    for (const { summary } of rows.values()) {
      byState.set(summary.stateName, (byState.get(summary.stateName) || 0) + 1);
    }
    counts.replaceChildren(...[...byState].sort().flatMap(([name, count]) => [
      el("dt", { text: name }), el("dd", { "data-state": name, text: count }),
    ]));
  };
  // One fetch per domain at a time: messages arriving meanwhile ask for one more after it.
  const refresh = async (uuid) => {
    if (pending.has(uuid)) { pending.set(uuid, true); return; }
    pending.set(uuid, false);
    try {
      render(await api("GET", domainPath(uuid)));
    } catch (error) {
      if (error.code === 42) { const old = rows.get(uuid); if (old) old.row.remove(); rows.delete(uuid); }
      else showError(error);
    }
    renderCounts();
    const again = pending.get(uuid);
    pending.delete(uuid);
    if (again) refresh(uuid);
  };
  let listed = false;
  const early = new Set();
  const stopEvents = follow("?summary=true", (message) => {
    logSummary.position(message.position);
    if (listed) refresh(message.domain.uuid); else early.add(message.domain.uuid);
  }, async () => {
    if (listed) return;
    // The stream is open before the list is read, so no change between them is missed.
    const [host, list] = await Promise.all([api("GET", "/v1/host"), api("GET", "/v1/domains" + listQuery(filters))]);
    const node = document.getElementById("node");
    node.replaceChildren(...[
      ["Hostname", host.hostname], ["CPU model", host.node.model], ["CPUs", host.node.cpus],
      ["Memory", Math.round(host.node.memoryKiB / 1024) + " MiB"], ["MHz", host.node.mhz],
      ["NUMA cells", host.node.nodes],
    ].flatMap(([name, value]) => [el("dt", { text: name }), el("dd", { text: value })]));
    for (const summary of list.domains) render(summary);
    listed = true;
    renderCounts();
    for (const uuid of early) refresh(uuid);
    document.body.dataset.ready = "host";
  }, undefined, logSummary.show);
  stopPage = stopEvents;
}

/**
 * The host page's log position and event-stream subscribers: the position follows every message
 * of the page's own stream; the oldest readable position and the counts come from the host
 * summaries that stream pushes (summary=true: one at its start, one whenever they change).
 */
function hostSummary() {
  const fields = [
    ["position", "Log position (last fact)"], ["oldestPosition", "Oldest readable position"],
    ["sse", "Event subscribers: SSE"], ["websocket", "Event subscribers: WebSocket"],
    ["rpc", "Event callbacks: libvirt protocol"], ["fleet", "Fleet stream subscribers"],
  ];
  const values = new Map(fields.map(([name]) => [name, el("dd", { "data-summary": name, text: "–" })]));
  const list = el("dl", { id: "log-summary" },
    fields.flatMap(([name, title]) => [el("dt", { text: title }), values.get(name)]));
  let shown = -1;
  const position = (value) => {
    if (value <= shown) return;
    shown = value;
    values.get("position").textContent = String(value);
  };
  const show = (summary) => {
    position(summary.log.position);
    values.get("oldestPosition").textContent = String(summary.log.oldestPosition);
    for (const [name, count] of Object.entries(summary.subscribers)) {
      const cell = values.get(name);
      if (cell) cell.textContent = String(count);
    }
  };
  return { list, position, show };
}

/** The API's list query for the filters. */
function listQuery(filters) {
  const query = new URLSearchParams();
  for (const name of filters) query.set(name, "true");
  const text = query.toString();
  return text === "" ? "" : "?" + text;
}

function defineForm() {
  const xml = el("textarea", { id: "define-xml", name: "xml", rows: "8", cols: "80", spellcheck: "false" });
  const status = el("p", { id: "define-status", "aria-live": "polite" });
  return el("section", { "aria-labelledby": "define-title" }, [
    el("h2", { id: "define-title", text: "Define a domain" }),
    el("form", { id: "define", onsubmit: async (event) => {
      event.preventDefault();
      showError(null);
      status.textContent = "defining…";
      try {
        const answer = await api("POST", "/v1/domains", undefined, { type: "application/xml", text: xml.value });
        status.textContent = "defined " + answer.name;
        xml.value = "";
      } catch (error) {
        status.textContent = "not defined";
        showError(error);
      }
    } }, [
      el("label", { for: "define-xml", text: "Domain XML" }),
      xml,
      el("button", { type: "submit", text: "Define" }),
    ]),
    status,
  ]);
}

async function domainPage(ref) {
  let info;
  try {
    info = await api("GET", domainPath(ref));
  } catch (error) {
    main().replaceChildren(el("h1", { text: ref }), el("p", { text: "Not found." }));
    showError(error);
    return;
  }
  const summary = el("dl", { id: "summary" });
  const status = el("p", { id: "status", "aria-live": "polite" });
  const history = el("tbody", { id: "history" });
  const actions = el("div", { id: "actions" });
  const offers = el("div", { id: "offers" });
  const bootBox = el("p", { id: "boot-progress", "aria-live": "polite" });
  const boot = bootProgress(bootBox);
  let currentXml = null;
  const progress = actionProgress(status, offers, (action) => {
    if (action !== "start") return;
    const hasConsole = currentXml !== null && new DOMParser().parseFromString(currentXml, "application/xml")
      .querySelector("devices > serial, devices > console") !== null;
    boot.start(info.uuid, hasConsole);
  });
  const shutdownWait = el("input", {
    type: "number", id: "shutdown-wait", min: "1", max: String(SHUTDOWN_WAIT_MAX_S), step: "1",
    value: String(SHUTDOWN_WAIT_DEFAULT_S),
  });
  if (session.role === "read-write") {
    for (const action of ACTIONS) {
      actions.append(el("button", {
        type: "button", "data-action": action, text: action,
        onclick: () => progress.run(info.uuid, action, waitSecondsOf(shutdownWait)),
      }));
    }
    actions.append(el("label", { for: "shutdown-wait" }, ["Shutdown: wait for the guest to stop (s) ", shutdownWait]));
  }
  const stops = [progress.stop, boot.stop];
  const charts = liveCharts(info.uuid);
  stops.push(charts.stop);
  const undefineBox = el("div", { id: "undefine" });
  if (session.role === "read-write") {
    actions.append(el("button", {
      type: "button", "data-action": "undefine", text: "undefine…",
      onclick: () => confirmUndefine(info, undefineBox),
    }));
  }
  const serial = el("section", { id: "serial", "aria-labelledby": "serial-title" });
  const display = el("section", { id: "display", "aria-labelledby": "display-title" });
  main().replaceChildren(
    el("p", {}, [el("a", { href: "#/", text: "← all domains" })]),
    el("h1", { text: info.name }),
    summary,
    session.role === "read-write" ? el("h2", { text: "Actions" }) : null,
    actions,
    undefineBox,
    status,
    bootBox,
    offers,
    serial,
    display,
    el("h2", { text: "Live statistics" }),
    charts.section,
    el("h2", { text: "Disks" }),
    el("table", { "aria-label": "disks" }, [
      el("thead", {}, [el("tr", {}, [
        el("th", { scope: "col", text: "Target" }), el("th", { scope: "col", text: "Source" }),
        el("th", { scope: "col", text: "Capacity" }), el("th", { scope: "col", text: "Allocation" }),
        el("th", { scope: "col", text: "Physical" }),
      ])]),
      el("tbody", { id: "disks" }),
    ]),
    el("h2", { text: "Event history" }),
    el("table", { "aria-label": "event history" }, [
      el("thead", {}, [el("tr", {}, [
        el("th", { scope: "col", text: "Position" }), el("th", { scope: "col", text: "Time" }),
        el("th", { scope: "col", text: "Fact" }), el("th", { scope: "col", text: "Event" }),
        el("th", { scope: "col", text: "Detail" }),
      ])]),
      history,
    ]),
    el("h2", { text: "Definition" }),
    el("pre", { id: "xml", tabindex: "0", "aria-label": "domain XML" }),
  );
  const showInfo = (view) => {
    info = view;
    summary.replaceChildren(...[
      ["UUID", view.uuid], ["Id", view.id === null ? "-" : view.id], ["Type", view.type],
      ["OS type", view.osType], ["State", view.stateName], ["Reason", view.reasonName],
      ["vCPUs", view.vcpus], ["Memory", Math.round(view.memoryKiB / 1024) + " MiB"],
      ["Max memory", Math.round(view.maxMemoryKiB / 1024) + " MiB"],
      ["Persistent", view.persistent ? "yes" : "no"], ["Autostart", view.autostart ? "yes" : "no"],
    ].flatMap(([name, value]) => [
      el("dt", { text: name }),
      el("dd", { "data-field": name.toLowerCase(), text: value }),
    ]));
  };
  showInfo(info);
  const consoles = consoleSections(serial, display, stops);
  const loadAll = async () => {
    currentXml = await loadXml(info.uuid);
    consoles.update(info, currentXml);
  };
  loadAll();
  loadDisks(info.uuid);
  const refreshInfo = async () => {
    try { showInfo(await api("GET", domainPath(info.uuid))); await loadAll(); } catch (error) { showError(error); }
  };
  const stopEvents = follow("?since=0&domain=" + encodeURIComponent(info.uuid), (message) => {
    const detail = message.lifecycle
      ? message.lifecycle.typeName + " / " + message.lifecycle.detailName
      : message.data ? JSON.stringify(message.data) : "";
    history.prepend(el("tr", { "data-fact": message.fact }, [
      el("td", { text: message.position }), el("td", { text: message.time }),
      el("td", { text: message.fact }), el("td", { text: message.event || "" }),
      el("td", { text: detail }),
    ]));
    progress.fact(message);
    if (document.body.dataset.ready === "domain") refreshInfo();
  }, () => { document.body.dataset.ready = "domain"; }, "?domain=" + encodeURIComponent(info.uuid));
  stopPage = () => { stopEvents(); for (const stop of stops) stop(); };
}

/** Points a chart keeps (one per sample). */
const CHART_POINTS = 60;

/**
 * Live charts of a domain's CPU, memory, disk and network from the stats stream (one message
 * per new sample): rates come from the difference of two samples' counters.
 */
function liveCharts(uuid) {
  const specs = [
    { id: "cpu", title: "CPU", unit: "%", series: ["busy"] },
    { id: "memory", title: "Memory", unit: "MiB", series: ["current"] },
    { id: "disk", title: "Disk", unit: "KiB/s", series: ["read", "write"] },
    { id: "network", title: "Network", unit: "KiB/s", series: ["received", "sent"] },
  ];
  const charts = new Map();
  const section = el("div", { id: "charts" });
  for (const spec of specs) {
    const canvas = el("canvas", { width: "320", height: "100", role: "img", "aria-label": spec.title + ": no sample yet" });
    const value = el("p", { "data-chart": spec.id, text: "–" });
    section.append(el("figure", {}, [el("figcaption", { text: spec.title + " (" + spec.unit + ")" }), canvas, value]));
    charts.set(spec.id, { spec, canvas, value, points: spec.series.map(() => []) });
  }
  let previous = null;
  const sum = (stats, prefix, suffix) => {
    let total = 0;
    const count = Number(stats[prefix + ".count"] || 0);
    for (let index = 0; index < count; index++) total += Number(stats[prefix + "." + index + "." + suffix] || 0);
    return total;
  };
  const push = (id, values) => {
    const chart = charts.get(id);
    values.forEach((v, index) => {
      chart.points[index].push(v);
      if (chart.points[index].length > CHART_POINTS) chart.points[index].shift();
    });
    const text = chart.spec.series.map((name, index) => name + " " + values[index].toFixed(1)).join(", ") + " " + chart.spec.unit;
    chart.value.textContent = text;
    chart.canvas.setAttribute("aria-label", chart.spec.title + ": " + text);
    drawChart(chart);
  };
  const source = new EventSource("/v1/domains/" + encodeURIComponent(uuid) + "/stats/stream", { withCredentials: true });
  source.addEventListener("message", (event) => {
    const sample = JSON.parse(event.data);
    const stats = sample.stats;
    const memoryKiB = Number(stats["balloon.current"] || stats["balloon.rss"] || 0);
    push("memory", [memoryKiB / 1024]);
    const now = {
      at: sample.takenAtMs, cpu: Number(stats["cpu.time"] || 0), vcpus: Math.max(1, Number(stats["vcpu.current"] || 1)),
      rd: sum(stats, "block", "rd.bytes"), wr: sum(stats, "block", "wr.bytes"),
      rx: sum(stats, "net", "rx.bytes"), tx: sum(stats, "net", "tx.bytes"),
    };
    if (previous !== null && now.at > previous.at) {
      const seconds = (now.at - previous.at) / 1000;
      const rate = (a, b) => Math.max(0, (a - b) / 1024 / seconds);
      push("cpu", [Math.max(0, Math.min(100, (now.cpu - previous.cpu) / 1e9 / seconds / now.vcpus * 100))]);
      push("disk", [rate(now.rd, previous.rd), rate(now.wr, previous.wr)]);
      push("network", [rate(now.rx, previous.rx), rate(now.tx, previous.tx)]);
    }
    previous = now;
    section.dataset.samples = String(Number(section.dataset.samples || 0) + 1);
  });
  source.addEventListener("end", (event) => {
    source.close();
    section.dataset.ended = JSON.parse(event.data).message || "ended";
  });
  return { section, stop: () => source.close() };
}

const CHART_COLOURS = ["#005fcc", "#b35900"];

function drawChart(chart) {
  const context = chart.canvas.getContext("2d");
  const { width, height } = chart.canvas;
  context.clearRect(0, 0, width, height);
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, width, height);
  const top = Math.max(1, ...chart.points.flat());
  chart.points.forEach((points, index) => {
    context.strokeStyle = CHART_COLOURS[index % CHART_COLOURS.length];
    context.lineWidth = 2;
    context.beginPath();
    points.forEach((v, i) => {
      const x = (i / (CHART_POINTS - 1)) * (width - 1);
      const y = height - 2 - (v / top) * (height - 4);
      if (i === 0) context.moveTo(x, y); else context.lineTo(x, y);
    });
    context.stroke();
  });
}

function confirmUndefine(info, box) {
  box.replaceChildren(
    el("p", { id: "undefine-question", text: "Undefine " + info.name + "? Its persistent definition is removed" +
      (info.stateName === "shut off" ? "." : "; the running domain goes on as a transient one.") }),
    el("button", { type: "button", "data-confirm": "undefine", "aria-describedby": "undefine-question", text: "Undefine " + info.name,
      onclick: async () => {
        showError(null);
        try {
          await api("DELETE", domainPath(info.uuid));
          box.replaceChildren(el("p", { text: info.name + " undefined." }));
          if (info.stateName === "shut off") location.hash = "#/";
        } catch (error) { showError(error); }
      } }),
    el("button", { type: "button", "data-confirm": "cancel", text: "Cancel", onclick: () => box.replaceChildren() }),
  );
}

/** How long a started guest's boot text is shown, in ms; the serial console shows the rest. */
const BOOT_WATCH_MS = 120000;
/** Longest boot line shown, in characters. */
const BOOT_LINE_MAX = 200;

/** A console line as text: escape sequences and control characters removed. */
function plainLine(line) {
  return line.replace(/\x1b\[[0-9;?]*[ -\/]*[@-~]/g, "").replace(/[\x00-\x1f\x7f]/g, "").trim();
}

/**
 * A started guest's boot progress: the last line its serial console printed, read over a
 * view-only console socket (view=1: it never takes the one writer's place, so the page's own
 * console still opens), for BOOT_WATCH_MS after the start, until the domain stops or the page
 * leaves. A domain without a serial console shows nothing.
 */
function bootProgress(box) {
  let watch = null;
  const stop = () => { if (watch !== null) watch.close(); watch = null; };
  const start = (uuid, hasConsole) => {
    stop();
    box.replaceChildren();
    delete box.dataset.state;
    if (!hasConsole) return;
    box.dataset.state = "watching";
    box.dataset.lines = "0";
    box.textContent = "boot: waiting for the serial console…";
    const protocols = session.csrf ? ["evirt.v1", "evirt-csrf." + session.csrf] : ["evirt.v1"];
    const socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host +
      domainPath(uuid) + "/console/socket?view=1", protocols);
    socket.binaryType = "arraybuffer";
    const decoder = new TextDecoder();
    let partial = "";
    let lines = 0;
    const end = (text) => {
      clearTimeout(timer);
      if (watch === mine) watch = null;
      box.dataset.state = "ended";
      if (text) box.textContent = text;
      if (socket.readyState === WebSocket.CONNECTING || socket.readyState === WebSocket.OPEN) socket.close();
    };
    const timer = setTimeout(() => end(box.textContent + " (open the serial console for more)"), BOOT_WATCH_MS);
    socket.addEventListener("message", (event) => {
      partial += decoder.decode(new Uint8Array(event.data), { stream: true });
      const complete = partial.split("\n");
      partial = complete.pop().slice(-4 * BOOT_LINE_MAX);
      for (const line of complete) {
        const text = plainLine(line);
        if (text === "") continue;
        lines++;
        box.dataset.lines = String(lines);
        box.textContent = "boot: " + text.slice(0, BOOT_LINE_MAX);
      }
    });
    socket.addEventListener("close", (event) => {
      if (watch !== mine && box.dataset.state === "ended") return;
      // A refusal closes with 4000 plus libvirt's code, and its message as reason.
      end(event.code > 4000 && event.code < 5000
        ? "boot text unavailable: error " + (event.code - 4000) + ": " + event.reason
        : lines === 0 ? "boot: the serial console closed" : "");
    });
    const mine = { close: () => end("") };
    watch = mine;
  };
  return { start, stop };
}

/** The serial and VNC console sections of a domain page; update() follows its state and XML. */
function consoleSections(serial, display, stops) {
  let current = { serial: null, display: null };
  let uuid = null;
  const closeAll = () => {
    for (const kind of ["serial", "display"]) { if (current[kind]) current[kind].close(); current[kind] = null; }
  };
  stops.push(closeAll);
  const serialArea = el("div", { id: "terminal", "data-state": "closed" });
  const force = el("input", { type: "checkbox", id: "console-force" });
  const serialStatus = el("p", { id: "console-status", "aria-live": "polite" });
  const openSerial = el("button", { type: "button", id: "open-console", text: "Open serial console", onclick: async () => {
    showError(null);
    if (current.serial) current.serial.close();
    const module = await import("/ui/console.js");
    serialArea.replaceChildren();
    serialStatus.textContent = "connecting…";
    current.serial = module.openSerialConsole({
      container: serialArea, uuid, writer: session.role === "read-write", force: force.checked,
      csrf: session.csrf,
      onOpen: () => { serialArea.dataset.state = "open"; serialStatus.textContent = session.role === "read-write" ? "connected" : "connected, view only"; },
      onClose: (event) => {
        serialArea.dataset.state = "closed";
        const refusal = module.refusalOf(event);
        if (refusal !== null) { serialStatus.textContent = "refused"; showError(refusal); }
        else if (event.code === module.CLOSE_REPLACED) serialStatus.textContent = "another session took the console over";
        else serialStatus.textContent = "closed" + (event.reason ? ": " + event.reason : "");
      },
    });
  } });
  const displayArea = el("div", { id: "screen", "data-state": "closed" });
  const displayStatus = el("p", { id: "display-status", "aria-live": "polite" });
  const openDisplay = el("button", { type: "button", id: "open-display", text: "Open display", onclick: async () => {
    showError(null);
    if (current.display) current.display.close();
    const module = await import("/ui/console.js");
    displayArea.replaceChildren();
    displayStatus.textContent = "connecting…";
    try {
      current.display = await module.openDisplay({
        container: displayArea, uuid, csrf: session.csrf,
        onOpen: () => { displayArea.dataset.state = "open"; displayStatus.textContent = "connected"; },
        onClose: () => { displayArea.dataset.state = "closed"; displayStatus.textContent = "closed"; },
        onRefusal: (refusal) => showError(refusal),
      });
    } catch (error) { displayStatus.textContent = "failed"; showError(error); }
  } });
  return {
    update(info, xml) {
      uuid = info.uuid;
      const running = info.stateName === "running" || info.stateName === "paused";
      const hasVnc = xml !== null && new DOMParser().parseFromString(xml, "application/xml")
        .querySelector("devices > graphics[type=vnc]") !== null;
      if (!running) closeAll();
      serial.replaceChildren(
        el("h2", { id: "serial-title", text: "Serial console" }),
        running ? el("div", {}, [
          session.role === "read-write"
            ? el("label", { for: "console-force" }, [force, " take over another session (force)"])
            : el("p", { text: "View only: a read-only session cannot type into the console." }),
          openSerial, serialStatus,
        ]) : el("p", { text: "The domain is not running." }),
        serialArea,
      );
      display.replaceChildren(
        el("h2", { id: "display-title", text: "Display" }),
        !hasVnc ? el("p", { text: "The domain has no VNC display." })
          : !running ? el("p", { text: "The domain is not running." })
          : session.role !== "read-write" ? el("p", { text: "A read-only session cannot open the display." })
          : el("div", {}, [openDisplay, displayStatus]),
        displayArea,
      );
    },
  };
}

async function loadXml(uuid) {
  try {
    const xml = await api("GET", domainPath(uuid) + "/xml", "text");
    document.getElementById("xml").textContent = xml;
    return xml;
  } catch (error) { showError(error); return null; }
}

async function loadDisks(uuid) {
  const body = document.getElementById("disks");
  try {
    const list = await api("GET", domainPath(uuid) + "/blocks");
    for (const disk of list.disks) {
      const row = el("tr", { "data-target": disk.target }, [
        el("td", { text: disk.target }), el("td", { text: disk.source === null ? "-" : disk.source }),
      ]);
      body.append(row);
      try {
        const info = await api("GET", domainPath(uuid) + "/blocks/" + encodeURIComponent(disk.target) + "/info");
        row.append(el("td", { text: info.capacityBytes }), el("td", { text: info.allocationBytes }),
          el("td", { text: info.physicalBytes }));
      } catch (error) {
        row.append(el("td", { colspan: "3", text: "error " + error.code + ": " + error.message }));
      }
    }
  } catch (error) { showError(error); }
}

/** The shutdown wait the page offers first, and the longest the API takes, in seconds. */
const SHUTDOWN_WAIT_DEFAULT_S = 60, SHUTDOWN_WAIT_MAX_S = 3600;

function waitSecondsOf(input) {
  const value = Math.round(Number(input.value));
  return Number.isFinite(value) && value >= 1 ? Math.min(value, SHUTDOWN_WAIT_MAX_S) : SHUTDOWN_WAIT_DEFAULT_S;
}

/** Actions that take a while: what the page says while each runs, and once it is done. */
const LONG_ACTIONS = {
  start: { doing: "starting", done: "running" },
  shutdown: { doing: "shutting down", done: "shut off" },
};

/** What a fact of the domain's own stream says about a long action's progress. */
const FACT_PHASES = {
  "domain.launching": "launching the hypervisor process",
  "domain.launched": "process launched",
  "domain.started": "running",
  "domain.shutdown": "the guest is shutting down",
  "domain.ending": "ending the process",
  "domain.stopped": "stopped",
  "domain.rebooted": "the guest rebooted instead",
};

/** libvirt's VIR_ERR_OPERATION_TIMEOUT: the API's answer to a wait that ran out. */
const OPERATION_TIMEOUT = 68;

/**
 * Runs the domain page's actions. A long one (start, shutdown) shows its elapsed time, counted
 * by the page, and the steps the domain's event stream reports, until the API answers: start
 * once the domain runs, shutdown (asked with ?wait) once the guest stopped, or libvirt's error
 * 68 when it did not in time, after which the page offers destroy. Every refusal shows libvirt's
 * code and message. onDone(action) follows each success (a start's boot text is watched then).
 */
function actionProgress(status, offers, onDone) {
  let current = null;
  let lastPosition = 0;
  const elapsed = () => Math.floor((performance.now() - current.startedMs) / 1000);
  const render = () => {
    status.textContent = current.doing + "… " + elapsed() + " s" + (current.phase ? " (" + current.phase + ")" : "");
  };
  const finish = (text) => {
    clearInterval(current.timer);
    current = null;
    delete status.dataset.progress;
    status.textContent = text;
  };
  const run = async (uuid, action, waitSeconds) => {
    showError(null);
    offers.replaceChildren();
    if (current !== null) clearInterval(current.timer);
    const long = LONG_ACTIONS[action];
    const mine = {
      action, doing: long ? long.doing : action, phase: "", timer: undefined,
      startedMs: performance.now(), after: lastPosition,
    };
    current = mine;
    status.dataset.progress = action;
    render();
    if (long) mine.timer = setInterval(render, 1000);
    const query = action === "shutdown" ? "?wait=" + waitSeconds : "";
    try {
      await api("POST", domainPath(uuid) + "/actions/" + action + query);
      if (current !== mine) return;
      finish(long ? action + " done: " + long.done + " after " + elapsed() + " s" : action + " done");
      onDone(action);
    } catch (error) {
      showError(error);
      if (current !== mine) return;
      finish(action + " failed after " + elapsed() + " s");
      if (action === "shutdown" && error.code === OPERATION_TIMEOUT) {
        offers.replaceChildren(
          el("p", { id: "offer-text", text: "The guest did not stop within " + waitSeconds + " s. End it now?" }),
          el("button", {
            type: "button", "data-offer": "destroy", "aria-describedby": "offer-text", text: "destroy now",
            onclick: () => run(uuid, "destroy", waitSeconds),
          }),
        );
      }
    }
  };
  return {
    run,
    /** A message of the domain's stream: a step of the running long action, if it is one. */
    fact(message) {
      lastPosition = Math.max(lastPosition, message.position);
      if (current === null || !LONG_ACTIONS[current.action]) return;
      // Only facts after those the page had seen when the action began are its steps.
      if (message.position <= current.after) return;
      const phase = FACT_PHASES[message.fact];
      if (phase === undefined) return;
      current.phase = phase;
      render();
    },
    stop() { if (current !== null) clearInterval(current.timer); current = null; },
  };
}

boot();
`;

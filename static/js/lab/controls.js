// Scenario controls (preset, sliders, choices, switches), built from the engine's schema rows.
// Any key of GET /api/schema can be a control: its type picks the widget (number → slider, enum →
// radio group, bool → switch) and its min/max bound it, so a lesson may show any engine key without
// this file learning about it first. KNOWN only adds what the schema cannot say: a human label,
// a tighter range or a scale, and the mitigation switches whose "on" is a number.
// Controls turn input into calls on the lab (`onChange`); they never draw and never touch the socket.

import { getPath } from "./scenario.js";
import { fmt } from "./format.js";

/**
 * Per-key presentation. `label`: shown text; `min`/`max`: a range inside the schema's (for sliders a
 * student can aim with); `log`: force the scale; `zero`: how 0 reads ("never"); `names`: choice
 * labels; `on`: a number key shown as a switch, and the value "on" sends; `input: "number"`: a value
 * with no useful scale (a seed); `percent`: a fraction read as a percentage. Keys missing here
 * still get a control, labelled from the key.
 */
const KNOWN = {
  "seed": { label: "Random seed", input: "number" },
  "duration_s": { label: "Arrivals for", min: 0.5, max: 600 },
  "sample_interval_s": { label: "Sample every" },
  "clients.count": { label: "Viewers", min: 10, max: 1_000_000 },
  "clients.arrival": { label: "Arrivals", names: { burst: "burst", ramp: "ramp", poisson: "steady (Poisson)" } },
  "clients.window_s": { label: "Arrival window", max: 60 },
  "clients.rate_per_s": { label: "Arrival rate", min: 1, max: 100_000 },
  "clients.timeout_s": { label: "Client timeout", max: 60, zero: "never" },
  "clients.retries": { label: "Retries" },
  "clients.backoff": { label: "Retry backoff", names: { none: "none", fixed: "fixed", exponential: "exponential", full_jitter: "exp. + jitter" } },
  "clients.backoff_base_ms": { label: "Backoff base", max: 10_000 },
  "clients.backoff_cap_ms": { label: "Backoff cap", max: 60_000 },
  "clients.retry_budget": { label: "Retry budget", zero: "off", percent: true, log: false },
  "clients.retry_budget_window_s": { label: "Retry budget window", max: 120 },
  "servers.count": { label: "App servers", log: false },
  "workload.kind": { label: "Workload", names: { hot_key: "hot key", live_video: "live video" } },
  "workload.segment_s": { label: "New chunk every", max: 60 },
  "workload.keys": { label: "Keys" },
  "workload.zipf_s": { label: "Key popularity skew", unit: "" },
  "workload.warm_start": { label: "Key cached at start" },
  "cache.enabled": { label: "Cache" },
  "cache.lookup_ms": { label: "Cache round trip", max: 100 },
  "cache.ttl_s": { label: "Cache TTL", min: 1, max: 3600 },
  "cache.ttl_jitter": { label: "TTL jitter", on: 0.2 },
  "datastore.connections": { label: "Datastore connections" },
  "datastore.service_ms": { label: "Query time", min: 1, max: 2000 },
  "datastore.service_dist": { label: "Query time spread" },
  "datastore.lognormal_sigma": { label: "Lognormal shape" },
  "datastore.queue_limit": { label: "Queue limit (shedding)", max: 100_000, zero: "none" },
  "datastore.contention": { label: "Contention past saturation" },
  "datastore.crash": { label: "Overload crashes the datastore" },
  "datastore.overload_queue": { label: "Overloaded at", max: 100_000, unit: " queued" },
  "datastore.crash_after_s": { label: "Crash after overload of", max: 60 },
  "datastore.recovery_s": { label: "Recovery time", max: 120 },
  "strategy.coalesce": { label: "Request coalescing",
                         names: { none: "none", lock: "lock (poll)", notify: "lock (notify)", promise: "promise", distributed: "shared marker" } },
  "strategy.stale_while_revalidate": { label: "Stale-while-revalidate" },
  "strategy.stale_ttl_s": { label: "Serve stale for up to", max: 3600 },
  "strategy.early_refresh_beta": { label: "Early refresh (XFetch)", on: 1 },
  "strategy.prewarm": { label: "Pre-warm new chunks" },
  "strategy.lock_poll_ms": { label: "Lock poll interval", min: 5, max: 5000 },
  "strategy.marker_poll_ms": { label: "Marker poll interval", min: 5, max: 5000 },
  "strategy.lease_ms": { label: "Lock / marker lease", min: 10, max: 60_000 },
  "faults.leader_dies": { label: "Leader's server dies mid-fetch" },
  "faults.fail_fetch": { label: "First fetch fails" },
  "faults.slow_db_at_s": { label: "Datastore slows at" },
  "faults.slow_db_for_s": { label: "Slowdown lasts", zero: "no slowdown" },
  "faults.slow_factor": { label: "Slowdown factor", unit: "×" },
  // Lessons 12-14: a cold or lost cache, the cache tier's shards, answers coalescing cannot share.
  "workload.cold_start": { label: "Cache starts empty (cold start)" },
  "workload.ask_early_s": { label: "Players ask early by", max: 3, zero: "never" },
  "workload.private": { label: "Answers are private" },
  "cache.shards": { label: "Cache shards", log: false },
  "cache.shard_ops_per_s": { label: "Operations per shard", max: 100_000, zero: "unlimited" },
  "cache.local_ttl_ms": { label: "Local copy kept for", max: 5000, zero: "off" },
  "cache.replicas": { label: "Copies of each key", log: false },
  "cache.negative_ttl_ms": { label: "Keep \"not found\" for", max: 5000, zero: "off" },
  "strategy.wait_timeout_ms": { label: "Waiters give up after", max: 10_000, zero: "never" },
  "strategy.hit_for_pass_s": { label: "Hit-for-pass for", max: 600, zero: "off" },
  "strategy.traffic_shift_s": { label: "Traffic shift over", max: 60, zero: "off" },
  "strategy.preload_keys": { label: "Pre-load the top keys", max: 5000, zero: "none" },
  "faults.cache_lost_at_s": { label: "Cache lost at", zero: "never" },
};

/** The controls a full lab shows up front ("all"); every other schema key is under "More settings". */
export const CONTROL_KEYS = [
  "clients.count", "servers.count", "datastore.connections", "datastore.service_ms",
  "strategy.coalesce", "strategy.stale_while_revalidate", "strategy.early_refresh_beta", "cache.ttl_jitter",
  "strategy.prewarm", "clients.backoff",
];


export class ScenarioControls {
  /**
   * @param {HTMLElement} root   the sidebar; gets preset select, sliders and switches
   * @param {{schema: object[], presets: object, shown: string[]|"all", presetPicker?: boolean,
   *          onChange: Function, onPreset: Function, uid: string}} opts
   *   `onChange(dottedKey, value)` for a slider or switch, `onPreset(name)` for the preset select;
   *   `shown` lists dotted keys ("all": CONTROL_KEYS, then every other key under "More settings").
   */
  constructor(root, { schema, presets, shown, presetPicker = true, onChange, onPreset, uid, mitigations }) {
    this.root = root;
    this.rows = Object.fromEntries(schema.map((r) => [r.key, r]));
    this.presets = presets;
    this.onChange = onChange;
    this.mitigations = mitigations;
    this.inputs = new Map();
    this.presetRadios = [];
    this.presetDesc = null;
    this.uid = uid;
    root.replaceChildren();

    if (presetPicker) {
      // A list, not a menu: every title reads in full at any width (a select cut them off).
      const box = el("fieldset", "lab-field lab-presets");
      box.dataset.control = "preset";
      const legend = el("legend");
      legend.textContent = "Preset";
      box.append(legend);
      for (const [name, p] of Object.entries(presets)) {
        const lab = el("label", "lab-preset");
        const input = el("input");
        Object.assign(input, { type: "radio", name: `${uid}-preset`, value: name, id: `${uid}-preset-${name}` });
        input.dataset.control = `preset=${name}`;
        input.addEventListener("change", () => input.checked && onPreset(name));
        lab.append(input, document.createTextNode(" " + (p.title || name)));
        box.append(lab);
        this.presetRadios.push(input);
      }
      this.presetDesc = el("p", "lab-preset-desc");
      box.append(this.presetDesc);
      root.append(box);
    }

    // Mitigations (the schema says which keys are) and their tuning (the rest of their section).
    const tuning = (key) => key.startsWith("strategy.") || [...mitigations.off.keys()].some((m) => key.startsWith(`${m}_`));
    const isMitigation = (key) => mitigations.has(key) || tuning(key);
    const all = shown === "all";
    const wanted = all ? CONTROL_KEYS : shown;
    const keys = [];
    for (const key of wanted) {
      if (this.rows[key]) keys.push(key);
      else console.warn(`Herd Lab: no control for "${key}": GET /api/schema does not know it.`);
    }
    this.section(root, "Experiment", keys.filter((k) => !isMitigation(k)));
    this.section(root, "Mitigations", keys.filter(isMitigation));
    if (all) {
      const rest = schema.map((r) => r.key).filter((k) => !keys.includes(k));
      if (rest.length) {
        const more = el("details", "lab-more");
        const summary = el("summary");
        summary.textContent = "More settings";
        more.append(summary);
        this.section(more, "Experiment", rest.filter((k) => !isMitigation(k)));
        this.section(more, "Mitigation tuning", rest.filter(isMitigation));
        root.append(more);
      }
    }
  }

  /** A heading and one control per key (nothing at all for no keys). */
  section(parent, title, keys) {
    if (!keys.length) return;
    parent.append(heading(title));
    for (const key of keys) parent.append(this.control(key));
  }

  /** The widget the schema row's type calls for. */
  control(key) {
    const row = this.rows[key], spec = KNOWN[key] || {};
    const id = `${this.uid}-${key.replace(/\./g, "-")}`;
    if (row.choices) return this.choices(key, id, row, spec);
    if (row.type === "bool" || spec.on !== undefined) return this.switcher(key, id, row, spec);
    if (spec.input === "number") return this.numberBox(key, id, row, spec);
    return this.slider(key, id, row, spec);
  }

  slider(key, id, row, spec) {
    const scale = sliderScale(row, spec);
    const unit = spec.unit ?? unitOf(key);
    const box = el("div", "lab-field");
    const input = el("input");
    Object.assign(input, { type: "range", id, min: 0, max: 1000, step: 1 });
    input.dataset.control = key;
    const out = el("output");
    out.htmlFor = id;
    const toValue = (pos) => {
      const x = scale.toValue(pos);
      return row.type === "int" ? Math.max(scale.min, Math.round(x)) : x;
    };
    const show = (v) => {
      out.textContent = v === 0 && spec.zero ? spec.zero : spec.percent ? percent(v) : formatValue(v) + unit;
      input.setAttribute("aria-valuetext", out.textContent);
    };
    input.addEventListener("input", () => show(toValue(+input.value)));
    input.addEventListener("change", () => this.onChange(key, toValue(+input.value)));
    const head = el("div", "lab-field-head");
    head.append(label(id, labelOf(key)), out);
    box.append(head, input);
    describe(box, input, row);
    this.inputs.set(key, { set: (v) => { input.value = String(scale.toPos(v)); show(v); } });
    return box;
  }

  numberBox(key, id, row, spec) {
    const box = el("div", "lab-field");
    const input = el("input");
    Object.assign(input, { type: "number", id, min: row.min ?? "", max: row.max ?? "", step: row.type === "int" ? 1 : "any" });
    input.dataset.control = key;
    input.addEventListener("change", () => {
      const v = Number(input.value);
      if (Number.isFinite(v) && (row.type !== "int" || Number.isInteger(v))) this.onChange(key, v);
    });
    const head = el("div", "lab-field-head");
    head.append(label(id, labelOf(key)));
    box.append(head, input);
    describe(box, input, row);
    this.inputs.set(key, { set: (v) => { input.value = String(v ?? ""); } });
    return box;
  }

  choices(key, id, row, spec) {
    const box = el("fieldset", "lab-field lab-choices");
    const legend = el("legend");
    legend.textContent = labelOf(key);
    box.append(legend);
    const radios = row.choices.map((choice) => {
      const lab = el("label", "lab-choice");
      const input = el("input");
      Object.assign(input, { type: "radio", name: id, value: choice, id: `${id}-${choice}` });
      input.dataset.control = `${key}=${choice}`;
      input.addEventListener("change", () => input.checked && this.onChange(key, choice));
      lab.append(input, document.createTextNode(" " + (spec.names?.[choice] || choice.replace(/_/g, " "))));
      box.append(lab);
      return input;
    });
    this.inputs.set(key, { set: (v) => radios.forEach((r) => { r.checked = r.value === v; }) });
    return box;
  }

  switcher(key, id, row, spec) {
    const lab = el("label", "lab-switch");
    const input = el("input");
    Object.assign(input, { type: "checkbox", id, role: "switch" });
    input.dataset.control = key;
    const onValue = row.type === "bool" ? true : spec.on;
    const offValue = this.mitigations.off.get(key) ?? (row.type === "bool" ? false : 0);
    input.addEventListener("change", () => this.onChange(key, input.checked ? onValue : offValue));
    lab.append(input, document.createTextNode(" " + labelOf(key)));
    if (row.doc) lab.title = row.doc;
    this.inputs.set(key, { set: (v) => { input.checked = !!v; } });
    return lab;
  }

  /** Show the effective scenario: overrides over the preset over the schema defaults. */
  show(presetName, overrides) {
    for (const radio of this.presetRadios) radio.checked = radio.value === presetName;
    if (this.presetDesc) this.presetDesc.textContent = inWords(this.presets[presetName]?.description || "", this.rows);
    const presetScn = this.presets[presetName]?.scenario || {};
    for (const [key, input] of this.inputs) {
      const v = getPath(overrides, key) ?? getPath(presetScn, key) ?? this.rows[key]?.default;
      input.set(v);
    }
  }
}

/**
 * A preset's description with its config syntax in words: "coalesce=promise" becomes "request
 * coalescing “promise”", a bare key like "stale_while_revalidate" its label. A token that names
 * no schema key is left as it is.
 */
export function inWords(text, rows) {
  const keyOf = (token) => (rows[token] ? token : Object.keys(rows).find((k) => k.split(".").pop() === token));
  return text.replace(/\b([a-z]+(?:[._][a-z]+)+|[a-z]+(?==))(?:=([\w.]+))?/g, (whole, token, value) => {
    const key = keyOf(token);
    if (!key) return whole;
    const name = lowerFirst(labelOf(key));
    return value === undefined ? name : `${name} “${valueWords(key, value)}”`;
  });
}

/** One setting in words, for a list of the instructor's settings: "Request coalescing: promise". */
export function describeSetting(key, value, rows) {
  return `${labelOf(key)}: ${valueWords(key, value, rows?.[key])}`;
}

function valueWords(key, value, row) {
  const spec = KNOWN[key] || {};
  if (typeof value === "boolean" || row?.type === "bool") return value === true || value === "true" ? "on" : "off";
  if (spec.names?.[value]) return spec.names[value];
  const n = Number(value);
  if (value !== "" && Number.isFinite(n)) {
    return n === 0 && spec.zero ? spec.zero : spec.percent ? percent(n) : formatValue(n) + (spec.unit ?? unitOf(key));
  }
  return String(value).replace(/_/g, " ");
}

function lowerFirst(s) {
  return /^[A-Z][a-z]/.test(s) ? s.charAt(0).toLowerCase() + s.slice(1) : s;
}

/** "clients.backoff_base_ms" → "Backoff base ms" when KNOWN has no label (never silently skipped). */
function labelOf(key) {
  if (KNOWN[key]?.label) return KNOWN[key].label;
  const leaf = key.split(".").pop().replace(/_(ms|s|per_s)$/, "").replace(/_/g, " ");
  return leaf.charAt(0).toUpperCase() + leaf.slice(1);
}

/** The unit a key's name promises: *_ms → ms, *_per_s → /s, *_s → s. */
function unitOf(key) {
  if (key.endsWith("_per_s")) return " /s";
  if (key.endsWith("_ms")) return " ms";
  if (key.endsWith("_s")) return " s";
  return "";
}

/**
 * Slider position (0..1000) ↔ value, within the schema's min/max narrowed by KNOWN. A range that
 * spans decades is logarithmic; when it starts at 0 the first position is 0 itself and the rest are
 * logarithmic from a thousandth of the maximum (0 often means "off": no timeout, no limit).
 */
function sliderScale(row, spec) {
  const min = Math.max(row.min ?? 0, spec.min ?? -Infinity), max = Math.min(row.max ?? 100, spec.max ?? Infinity);
  const lo = min > 0 ? min : Math.max(row.type === "int" ? 1 : 0, max / 1000);
  const log = spec.log ?? (lo > 0 && max / lo >= 100);
  if (!log) {
    return { min, max, toValue: (pos) => niceRound(min + (pos / 1000) * (max - min), max - min),
             toPos: (v) => clampPos(1000 * (v - min) / (max - min || 1)) };
  }
  const zeroStop = min <= 0;
  const first = zeroStop ? 1 : 0;   // position 0 is 0 when the range includes it
  const span = Math.log(max) - Math.log(lo);
  return {
    min,
    max,
    toValue: (pos) => (zeroStop && pos === 0 ? 0 : niceRound(Math.exp(Math.log(lo) + ((pos - first) / (1000 - first)) * span))),
    toPos: (v) => (zeroStop && v <= 0 ? 0 : clampPos(first + (1000 - first) * (Math.log(Math.max(v, lo)) - Math.log(lo)) / span)),
  };
}

const clampPos = (p) => Math.max(0, Math.min(1000, Math.round(p)));

/** Two significant digits (2,400 not 2,387), or a hundredth of a linear range's width. */
function niceRound(x, width) {
  if (width !== undefined) {
    const step = 10 ** Math.floor(Math.log10(width || 1) - 2);
    return +(Math.round(x / step) * step).toPrecision(12);
  }
  const p = 10 ** Math.floor(Math.log10(Math.abs(x) || 1) - 1);
  return +(Math.round(x / p) * p).toPrecision(12);   // no 0.30000000000000004 in share links
}

/** 0.1 → "10%". */
function percent(v) {
  return `${+(v * 100).toPrecision(3)}%`;
}

/** Whole numbers with separators; small ones with the digits they need (0.05, 1.5). */
function formatValue(v) {
  if (typeof v !== "number") return String(v ?? "–");
  if (Math.abs(v) >= 100 || Number.isInteger(v)) return fmt(v);
  return String(+v.toPrecision(2));
}

/** The schema's doc string as the control's description (a tooltip and for screen readers). */
function describe(box, input, row) {
  if (!row.doc) return;
  box.title = row.doc;
  input.setAttribute("aria-description", row.doc);
}

function el(tag, cls) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  return e;
}

function label(forId, text) {
  const l = el("label");
  l.htmlFor = forId;
  l.textContent = text;
  return l;
}

function heading(text) {
  const h = el("h3", "lab-side-head");
  h.textContent = text;
  return h;
}

// Scenario controls (preset, sliders, mitigation switches), built from the engine's schema rows.
// Controls turn input into calls on the lab (`onChange`); they never draw and never touch the socket.

import { getPath } from "./scenario.js";
import { fmt } from "./render/stage.js";

/** Sliders: key → label, scale and range (the schema gives type, default and hard limits). */
const SLIDERS = {
  "clients.count": { label: "Viewers", log: true, min: 10, max: 1_000_000 },
  "servers.count": { label: "App servers", min: 1, max: 64 },
  "datastore.connections": { label: "Datastore connections", log: true, min: 1, max: 1024 },
  "datastore.service_ms": { label: "Query time", log: true, min: 1, max: 2000, unit: " ms" },
};

/** Mitigation switches: key → label, and for numeric keys the value "on" means. */
const SWITCHES = {
  "strategy.coalesce": { label: "Request coalescing", names: { none: "none", lock: "lock (poll)", promise: "promise", distributed: "shared marker" } },
  "strategy.stale_while_revalidate": { label: "Stale-while-revalidate" },
  "strategy.early_refresh_beta": { label: "Early refresh (XFetch)", on: 1 },
  "cache.ttl_jitter": { label: "TTL jitter", on: 0.2 },
  "strategy.prewarm": { label: "Pre-warm new chunks" },
  "clients.backoff": { label: "Retry backoff", names: { none: "none", fixed: "fixed", exponential: "exponential", full_jitter: "exp. + jitter" } },
};

/** The control keys a lab can show ("all" = every one of them). */
export const CONTROL_KEYS = [...Object.keys(SLIDERS), ...Object.keys(SWITCHES)];

export class ScenarioControls {
  /**
   * @param {HTMLElement} root   the sidebar; gets preset select, sliders and switches
   * @param {{schema: object[], presets: object, shown: string[], onChange: Function, onPreset: Function}} opts
   *   `onChange(dottedKey, value)` for a slider or switch, `onPreset(name)` for the preset select.
   */
  constructor(root, { schema, presets, shown, onChange, onPreset, uid }) {
    this.root = root;
    this.rows = Object.fromEntries(schema.map((r) => [r.key, r]));
    this.presets = presets;
    this.onChange = onChange;
    this.inputs = new Map();
    root.replaceChildren();
    const id = (key) => `${uid}-${key.replace(/\./g, "-")}`;

    const presetBox = el("div", "lab-field");
    const select = el("select");
    select.id = `${uid}-preset`;
    select.dataset.control = "preset";
    for (const [name, p] of Object.entries(presets)) {
      const opt = el("option");
      opt.value = name;
      opt.textContent = p.title || name;
      select.append(opt);
    }
    select.addEventListener("change", () => onPreset(select.value));
    presetBox.append(label(select.id, "Scenario"), select);
    this.presetDesc = el("p", "lab-preset-desc");
    presetBox.append(this.presetDesc);
    this.preset = select;
    root.append(presetBox);

    const sliders = Object.keys(SLIDERS).filter((k) => shown.includes(k) && this.rows[k]);
    if (sliders.length) root.append(heading("Scenario"));
    for (const key of sliders) root.append(this.slider(key, id(key)));
    const switches = Object.keys(SWITCHES).filter((k) => shown.includes(k) && this.rows[k]);
    if (switches.length) root.append(heading("Mitigations"));
    for (const key of switches) root.append(this.switcher(key, id(key)));
  }

  slider(key, id) {
    const spec = SLIDERS[key], row = this.rows[key];
    const min = Math.max(spec.min, row.min ?? spec.min), max = Math.min(spec.max, row.max ?? spec.max);
    const box = el("div", "lab-field");
    const input = el("input");
    Object.assign(input, { type: "range", id, min: 0, max: 1000, step: 1 });
    input.dataset.control = key;
    const out = el("output");
    out.htmlFor = id;
    const toValue = (pos) => {
      const x = spec.log ? Math.exp(Math.log(min) + (pos / 1000) * (Math.log(max) - Math.log(min))) : min + (pos / 1000) * (max - min);
      return row.type === "int" ? Math.max(min, Math.round(niceRound(x))) : niceRound(x);
    };
    const toPos = (v) => Math.round(1000 * (spec.log ? (Math.log(v) - Math.log(min)) / (Math.log(max) - Math.log(min)) : (v - min) / (max - min)));
    input.addEventListener("input", () => { const v = toValue(+input.value); show(v); });
    input.addEventListener("change", () => this.onChange(key, toValue(+input.value)));
    const show = (v) => {
      out.textContent = fmt(v) + (spec.unit || "");
      input.setAttribute("aria-valuetext", out.textContent);
    };
    const head = el("div", "lab-field-head");
    head.append(label(id, spec.label), out);
    box.append(head, input);
    this.inputs.set(key, { set: (v) => { input.value = String(Math.max(0, Math.min(1000, toPos(v)))); show(v); } });
    return box;
  }

  switcher(key, id) {
    const spec = SWITCHES[key], row = this.rows[key];
    if (row.choices) {
      const box = el("fieldset", "lab-field lab-choices");
      const legend = el("legend");
      legend.textContent = spec.label;
      box.append(legend);
      const radios = row.choices.map((choice) => {
        const lab = el("label", "lab-choice");
        const input = el("input");
        Object.assign(input, { type: "radio", name: id, value: choice, id: `${id}-${choice}` });
        input.dataset.control = `${key}=${choice}`;
        input.addEventListener("change", () => input.checked && this.onChange(key, choice));
        lab.append(input, document.createTextNode(" " + (spec.names?.[choice] || choice)));
        box.append(lab);
        return input;
      });
      this.inputs.set(key, { set: (v) => radios.forEach((r) => { r.checked = r.value === v; }) });
      return box;
    }
    const lab = el("label", "lab-switch");
    const input = el("input");
    Object.assign(input, { type: "checkbox", id, role: "switch" });
    input.dataset.control = key;
    const onValue = row.type === "bool" ? true : spec.on;
    const offValue = row.type === "bool" ? false : 0;
    input.addEventListener("change", () => this.onChange(key, input.checked ? onValue : offValue));
    lab.append(input, document.createTextNode(" " + spec.label));
    this.inputs.set(key, { set: (v) => { input.checked = !!v; } });
    return lab;
  }

  /** Show the effective scenario: overrides over the preset over the schema defaults. */
  show(presetName, overrides) {
    this.preset.value = presetName;
    this.presetDesc.textContent = this.presets[presetName]?.description || "";
    const presetScn = this.presets[presetName]?.scenario || {};
    for (const [key, input] of this.inputs) {
      const v = getPath(overrides, key) ?? getPath(presetScn, key) ?? this.rows[key]?.default;
      input.set(v);
    }
  }
}

/** Two significant digits, so a log slider lands on 2,400 rather than 2,387. */
function niceRound(x) {
  const p = 10 ** Math.floor(Math.log10(Math.abs(x) || 1) - 1);
  return Math.round(x / p) * p;
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

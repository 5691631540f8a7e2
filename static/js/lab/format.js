// Number formatting shared by the stage, the charts, the cards and the controls. It lives on its
// own so that controls and cards need not import a renderer just to print a number.

/** Thousands separators, so 1000000 reads as 1,000,000. */
export function fmt(n) {
  return typeof n === "number" ? Math.round(n).toLocaleString("en-US") : String(n ?? "–");
}

/** Axis numbers that fit the axis: 5,000 → "5k", 1,500,000 → "1.5M" (uPlot would clip "20,000"). */
export function compact(v) {
  if (v == null) return "";
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return v.toLocaleString("en-US", { maximumFractionDigits: 2 });
}

/** "viewer" or "viewers" as `n` asks ("1 viewer", "2 viewers"); `many` for irregular plurals. */
export function plural(n, one, many = `${one}s`) {
  return n === 1 ? one : many;
}

// Keyboard shortcuts for the lab: space play/pause, arrows step/seek, +/- speed, ? help, p projector.
// Form fields keep their own keys (a focused slider still moves with the arrows).

/** Shortcut table, shown in the help overlay too (so the two never disagree). */
export const SHORTCUTS = [
  ["Space", "run / pause / resume"],
  ["→", "step one frame (when paused), else jump 1 s ahead"],
  ["←", "jump 1 s back"],
  ["+ / −", "faster / slower"],
  ["r", "restart the same run"],
  ["c", "compare mode on / off"],
  ["n", "story: skip the moment on screen"],
  ["m", "story: replay the last moment"],
  ["p", "presentation mode (projector)"],
  ["?", "this help"],
  ["↑ / ↓", "on the stage: choose a request"],
  ["Enter", "on the stage: open the chosen request's lifecycle"],
  ["Esc", "close panels"],
];

/**
 * Listen on `target` (the document for the /lab page) and call `act(command, value)`.
 * Returns a function that removes the listener (for the lab's destroy()).
 */
export function bindKeys(target, act) {
  const onKey = (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape") { act("escape"); return; }
    const tag = e.target?.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || e.target?.isContentEditable) return;
    const command = {
      " ": ["toggle"], ArrowRight: ["forward"], ArrowLeft: ["seekBy", -1], "+": ["faster"], "=": ["faster"],
      "-": ["slower"], _: ["slower"], r: ["restart"], c: ["compare"], n: ["skip"], m: ["replay"], p: ["presentation"], "?": ["help"],
    }[e.key];
    if (!command) return;
    if (e.key === " " && tag === "BUTTON") return;     // a focused button handles its own space
    e.preventDefault();
    act(...command);
  };
  target.addEventListener("keydown", onKey);
  return () => target.removeEventListener("keydown", onKey);
}

// Keyboard shortcuts for the lab: space play/pause, arrows step/seek, +/- speed, ? help, p projector.
// Form fields keep their own keys (a focused slider still moves with the arrows).

/**
 * Shortcut table, shown in the help overlay too (so the two never disagree): [keys, what, scope],
 * scope "page" (bound on the whole page, only where the lab binds them: not in lessons) or "lab"
 * (the stage's and the dialogs' own keys, everywhere).
 */
export const SHORTCUTS = [
  ["Space", "run / pause / resume", "page"],
  ["→", "step one frame (when paused), else jump 1 s ahead", "page"],
  ["←", "jump 1 s back", "page"],
  ["+ / −", "faster / slower", "page"],
  ["r", "restart the same run", "page"],
  ["c", "compare mode on / off", "page"],
  ["n", "story: skip the moment on screen", "page"],
  ["m", "story: replay the last moment", "page"],
  ["p", "presentation mode (projector)", "page"],
  ["?", "this help", "page"],
  ["↑ / ↓", "on the stage: choose a request", "lab"],
  ["Enter", "on the stage: open the chosen request's lifecycle", "lab"],
  ["Esc", "close panels", "lab"],
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

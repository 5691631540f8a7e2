// Keyboard focus for the lab's dialogs: a modal keeps Tab inside itself and, when it closes, gives
// focus back to whatever opened it (not to the top of the page).

const FOCUSABLE = 'button:not([disabled]), [href], input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export class FocusReturn {
  constructor() { this.opener = null; }

  /** Remember what had focus before a dialog opens, then focus `first` inside it. */
  open(first) {
    const active = document.activeElement;
    this.opener = active && active !== document.body ? active : null;
    first?.focus();
  }

  /**
   * Give focus back to the opener; when nothing had focus (a keyboard shortcut opened it), leave
   * focus nowhere, as it was, so the next shortcut still works.
   */
  close() {
    const target = this.opener?.isConnected ? this.opener : null;
    this.opener = null;
    if (target) target.focus();
    else document.activeElement?.blur();
  }
}

/** Keep Tab and Shift+Tab cycling inside `dialog` while it is shown; returns the listener's remover. */
export function trapTab(dialog) {
  const onKey = (e) => {
    if (e.key !== "Tab" || dialog.hidden) return;
    const items = [...dialog.querySelectorAll(FOCUSABLE)].filter((el) => !el.closest("[hidden]"));
    if (!items.length) { e.preventDefault(); return; }
    const first = items[0], last = items[items.length - 1];
    const inside = dialog.contains(document.activeElement);
    if (e.shiftKey && (document.activeElement === first || !inside)) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && (document.activeElement === last || !inside)) { e.preventDefault(); first.focus(); }
  };
  document.addEventListener("keydown", onKey);
  return () => document.removeEventListener("keydown", onKey);
}

// The instructor's open rooms, remembered in this browser by their control tokens (localStorage).
// A console tab closed without "End class" leaves its room open, counting against the address's
// room cap until it expires; every console tab of this browser lists such rooms (asking the server
// with each token: `room_status`) to resume or close them. Only tokens this browser was given
// count: nobody sees or closes a room by address alone.

const KEY = "herdlab.rooms";
const LIMIT = 10;             // rooms remembered (at most HERDLAB_ROOMS_PER_ADDRESS are open at once)
const ANSWER_WITHIN_MS = 5000; // a check that hears nothing more (the store is down) settles anyway

/** The remembered rooms, oldest first: `[{code, display, token}]`. */
export const remembered = {
  list() {
    try {
      const rooms = JSON.parse(localStorage.getItem(KEY));
      return Array.isArray(rooms) ? rooms.filter((r) => r && r.code && r.token) : [];
    } catch { return []; }
  },
  add(room) {
    const rest = remembered.list().filter((r) => r.code !== room.code);
    localStorage.setItem(KEY, JSON.stringify([...rest, room].slice(-LIMIT)));
  },
  remove(code) {
    localStorage.setItem(KEY, JSON.stringify(remembered.list().filter((r) => r.code !== code)));
  },
};

/**
 * The "Your open rooms" panel: each remembered room that is still open, with Resume and Close.
 * `current()` is the code of the room this tab drives (not listed); `resume(room)` takes one over.
 */
export class RoomList {
  constructor(el, socket, { current, resume }) {
    this.el = el;
    this.socket = socket;
    this.current = current;
    this.resume = resume;
    this.open = new Map();       // code -> its latest room_status
    this.waiting = null;         // {codes, done, timer}: the check under way
    socket.on("room_status", (status) => this.heard(status));
    socket.on("room_error", (err) => { if (err.event === "room_status") this.settle(); });
  }

  /** Ask about every remembered room; resolves with the open ones once all have answered. */
  check() {
    this.settle();
    const rooms = remembered.list();
    return new Promise((done) => {
      const codes = new Set(rooms.map((r) => r.code));
      this.waiting = { codes, done, timer: setTimeout(() => this.settle(), ANSWER_WITHIN_MS) };
      if (!codes.size) this.settle();
      for (const r of rooms) this.socket.emit("room_status", { code: r.code, token: r.token });
    });
  }

  /** Close a room by its token; its students are told, the address's cap is freed at once. */
  close(room) {
    this.socket.emit("close_room", { code: room.code, token: room.token });
  }

  heard(status) {
    if (status.open) this.open.set(status.code, status);
    else { this.open.delete(status.code); remembered.remove(status.code); }
    this.waiting?.codes.delete(status.code);
    if (this.waiting && !this.waiting.codes.size) this.settle();
    this.render();
  }

  settle() {
    const w = this.waiting;
    if (!w) return;
    this.waiting = null;
    clearTimeout(w.timer);
    w.done(this.others());
  }

  /** Open rooms of this browser other than this tab's, as remembered (with their tokens). */
  others() {
    return remembered.list().filter((r) => this.open.has(r.code) && r.code !== this.current());
  }

  render() {
    const rooms = this.others();
    this.el.hidden = !rooms.length;
    this.el.querySelector("ul").replaceChildren(...rooms.map((room) => {
      const s = this.open.get(room.code);
      const li = document.createElement("li");
      const what = [`${s.members} ${s.members === 1 ? "student" : "students"}`,
        s.run ? `run ${s.run}` : "no run yet", s.instructor ? "a console has it open" : "no console open",
        s.lesson].filter(Boolean).join(" · ");
      const code = Object.assign(document.createElement("strong"), { className: "cr-mono", textContent: room.display });
      const resume = button(`Resume ${room.display}`, "Resume", () => this.resume(room));
      const close = button(`Close ${room.display} for everyone`, "Close", () => this.close(room));
      li.append(code, ` — ${what} `, resume, close);
      return li;
    }));
  }
}

function button(label, text, onClick) {
  const b = Object.assign(document.createElement("button"), { type: "button", textContent: text });
  b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}

// Connects to a Socket.IO namespace and mirrors the connection state into the page header and
// window.herdlab (read-only counters that tests and diagnostics read). The header badge stays hidden
// on pages that hold no live connection, so it never claims "connecting…" where nothing connects.
import { io } from "socket.io-client";

const LABELS = { connecting: "connecting…", connected: "connected", disconnected: "disconnected — retrying…" };

export const herdlab = (window.herdlab = window.herdlab || { connected: false });

export function connect(namespace = "/") {
  const socket = io(namespace, { transports: ["websocket", "polling"] });
  const badge = document.getElementById("conn-state");
  if (badge) badge.hidden = false;
  const show = (state) => {
    herdlab.connected = state === "connected";
    if (badge) {
      badge.dataset.state = state;
      badge.textContent = LABELS[state];
    }
  };
  socket.on("connect", () => show("connected"));
  socket.on("disconnect", () => show("disconnected"));
  socket.io.on("reconnect_attempt", () => show("connecting"));
  return socket;
}

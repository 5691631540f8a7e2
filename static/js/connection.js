// Connects to a Socket.IO namespace and mirrors the connection state into the page header and
// window.herdlab (read-only counters that tests and diagnostics read). The header badge stays hidden
// on pages that hold no live connection, so it never claims "connecting…" where nothing connects.
import { io } from "socket.io-client";

const LABELS = { connecting: "connecting…", connected: "connected", disconnected: "disconnected — retrying…" };

export const herdlab = (window.herdlab = window.herdlab || { connected: false });

// WebSocket first; if it cannot open (a proxy or firewall that drops the upgrade), HTTP
// long-polling (tryAllTransports), which works through any proxy that keeps one client on one
// server process (deploy/nginx-herdlab.conf does). A polling connection keeps trying to upgrade.
const OPTIONS = { transports: ["websocket", "polling"], tryAllTransports: true };

export function connect(namespace = "/") {
  const socket = io(namespace, OPTIONS);
  const badge = document.getElementById("conn-state");
  if (badge) badge.hidden = false;
  const show = (state, why = "") => {
    herdlab.connected = state === "connected";
    herdlab.transport = state === "connected" ? socket.io.engine.transport.name : null;
    if (badge) {
      badge.dataset.state = state;
      badge.textContent = why || LABELS[state];
    }
  };
  socket.on("connect", () => {
    show("connected");
    socket.io.engine.once("upgrade", () => show("connected"));
  });
  socket.on("disconnect", () => show("disconnected"));
  socket.io.on("reconnect_attempt", () => show("connecting"));
  // Neither transport reached the server: say why instead of "connecting…" forever.
  socket.on("connect_error", (err) => show("disconnected", cannotConnect(err)));
  return socket;
}

function cannotConnect(err) {
  const status = err?.context?.status;
  if (status) return `cannot reach the server (HTTP ${status}) — retrying…`;
  return navigator.onLine === false ? "offline — retrying…" : "cannot reach the server — retrying…";
}

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
  // Why the last attempt failed: neither transport reached the server. It stays on the badge
  // while the client retries, instead of "connecting…" forever.
  let trouble = "";
  socket.on("connect", () => {
    trouble = "";
    show("connected");
    socket.io.engine.once("upgrade", () => show("connected"));
  });
  socket.on("disconnect", () => show("disconnected"));
  socket.io.on("reconnect_attempt", () => show(trouble ? "disconnected" : "connecting", trouble));
  socket.on("connect_error", (err) => {
    trouble = cannotConnect(err);
    show("disconnected", trouble);
  });
  return socket;
}

function cannotConnect(err) {
  // A failed long-poll carries the HTTP status (socket.io-client's TransportError).
  const status = typeof err?.description === "number" ? err.description : err?.context?.status;
  if (status) return `cannot reach the server (HTTP ${status}) — retrying…`;
  return navigator.onLine === false ? "offline — retrying…" : "cannot reach the server — retrying…";
}

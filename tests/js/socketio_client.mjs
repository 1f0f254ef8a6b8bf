// Connects like the extension does and reports, one JSON line per step, what the server did.
// Usage: node socketio_client.mjs <baseUrl> <token> [workspaceId] [eventName]
// TRANSPORTS (comma-separated, default "websocket,polling" like the extension) picks the order.
// Exit codes: 0 event received, 2 connect_error, 3 timeout, 4 disconnected by the server.
import { io } from "socket.io-client";

const [baseUrl, token, workspaceId = null, eventName = "contact:created"] = process.argv.slice(2);
const report = (line) => process.stdout.write(JSON.stringify(line) + "\n");

const socket = io(baseUrl, {
  auth: { token },
  transports: (process.env.TRANSPORTS || "websocket,polling").split(","),
  reconnection: false,
  timeout: 10000,
});

const deadline = setTimeout(() => {
  report({ status: "timeout" });
  process.exit(3);
}, 20000);

const finish = (code) => {
  clearTimeout(deadline);
  socket.off("disconnect"); // our own close is not a server-side disconnect
  socket.close();
  process.exit(code);
};

socket.on("connect", () => {
  socket.emit("join:workspace", workspaceId);
  socket.emit("ping");
  report({ status: "connected", transport: socket.io.engine.transport.name });
});
socket.io.engine.on("upgrade", (transport) => report({ status: "upgraded", transport: transport.name }));
socket.on("pong", () => report({ status: "pong" }));
socket.on("error", (data) => report({ status: "error_event", data }));
socket.on("connect_error", (err) => {
  report({ status: "connect_error", message: err.message });
  finish(2);
});
socket.on("disconnect", (reason) => {
  report({ status: "disconnected", reason });
  finish(4);
});
socket.on(eventName, (data, meta) => {
  report({ status: "event", event: eventName, data, meta });
  finish(0);
});

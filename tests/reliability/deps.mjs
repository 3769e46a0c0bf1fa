// The real clients, from tests/e2e's node_modules (one npm install for both suites).
import { createRequire } from "node:module";

const require = createRequire(new URL("../e2e/package.json", import.meta.url));
export const WebSocket = require("ws");
export const { io } = require("socket.io-client");

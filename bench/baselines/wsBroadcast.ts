/**
 * Baseline for fan-out and connection memory: a raw `ws` server. POST /broadcast?count=N
 * sends N copies of the given payload to every connected socket; GET /memory reports RSS.
 */
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? "/", "http://x");
  if (url.pathname === "/ready") return void res.end("ok");
  if (url.pathname === "/memory") {
    globalThis.gc?.();
    return void res.end(JSON.stringify({ rss: process.memoryUsage().rss, clients: wss.clients.size }));
  }
  if (url.pathname === "/broadcast") {
    let body = "";
    for await (const chunk of req) body += chunk;
    const count = Number(url.searchParams.get("count") ?? 1);
    for (let i = 0; i < count; i++) {
      const payload = body.replace("__SEQ__", String(i + 1));
      for (const client of wss.clients) client.send(payload);
      if (i % 10 === 9) await new Promise((r) => setImmediate(r)); // let sockets drain, as a server under load would
    }
    return void res.end("done");
  }
  res.statusCode = 404;
  res.end();
});
const wss = new WebSocketServer({ server });
wss.on("connection", (socket) => socket.on("message", () => {}));
server.listen(Number(process.env.PORT), "127.0.0.1");

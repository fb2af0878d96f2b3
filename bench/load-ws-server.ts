import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

// Baseline for `bench load`: the `ws` library behind node:http, answering hello with welcome, /health with JSON.
const server = createServer((req, res) => {
  res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ ok: true, workers: wss.clients.size }));
});
const wss = new WebSocketServer({ server, path: '/ws', maxPayload: 1 << 20 });
wss.on('connection', (ws) => {
  ws.on('message', (data, binary) => {
    if (binary) return;
    const msg = JSON.parse(data.toString());
    if (msg.type === 'hello') ws.send(JSON.stringify({ type: 'welcome', protocol: msg.protocol, workerId: 'x', heartbeatMs: 5000 }));
  });
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening', port: (server.address() as { port: number }).port })));

'use strict';

// Demo service deployed by Coconut's Ansible target. Dependency-free on purpose: a release is a plain
// copy of this folder, so there is no install step that could fail or differ between releases.

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const SERVICE = process.env.APP_NAME || 'demo-api';
const HOST = '127.0.0.1'; // never exposed: the deploy health check and the demo probe run on the same host
const PORT = parsePort(process.env.PORT);
const VERSION = process.env.APP_VERSION || readVersionFile();
// A "-bad" release starts and answers /version like any other, so the deploy itself succeeds; only /health
// fails. That is exactly the failure mode the bake alarm (not the deploy step) has to catch.
const HEALTHY = !VERSION.endsWith('-bad');
// A "-crash" release dies at start: the deploy step itself fails, and Coconut rolls back.
if (VERSION.endsWith('-crash')) {
  console.error(`${SERVICE} ${VERSION}: simulated crash at start`);
  process.exit(3);
}

function parsePort(raw) {
  if (raw === undefined || raw === '') return 8080;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error(`invalid PORT ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return port;
}

function readVersionFile() {
  // The deploy writes VERSION into each release folder; __dirname is the resolved release folder even when
  // started through the `current` symlink, because Node resolves the main module's real path.
  try {
    return fs.readFileSync(path.join(__dirname, 'VERSION'), 'utf8').trim() || '0.0.0-dev';
  } catch {
    return '0.0.0-dev';
  }
}

function sendJson(res, status, body) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
  });
  res.end(payload);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url || '/', 'http://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    sendJson(res, 405, { error: 'method not allowed' });
    return;
  }
  switch (url.pathname) {
    case '/version':
      sendJson(res, 200, { service: SERVICE, version: VERSION });
      return;
    case '/health':
      if (HEALTHY) sendJson(res, 200, { status: 'ok', version: VERSION });
      else sendJson(res, 500, { status: 'failing', version: VERSION, reason: 'simulated bad release' });
      return;
    case '/':
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${SERVICE} ${VERSION}\n`);
      return;
    default:
      sendJson(res, 404, { error: 'not found' });
  }
});

server.on('error', (err) => {
  // Exit instead of lingering: the deployer's health check then sees "nothing answers" (or the old
  // version) and fails the deploy, rather than a half-started process holding the pid file.
  console.error(`${SERVICE} ${VERSION} failed to listen on ${HOST}:${PORT}: ${err.message}`);
  process.exit(1);
});

server.listen(PORT, HOST, () => {
  console.log(`${SERVICE} ${VERSION} listening on http://${HOST}:${PORT} (pid ${process.pid})`);
});

let stopping = false;
function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`${SERVICE} ${VERSION} received ${signal}, draining`);
  // Finish in-flight requests, but do not let a hung keep-alive client block a deploy forever: the deployer
  // escalates to SIGKILL after its own timeout anyway, this just keeps the exit clean and logged.
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

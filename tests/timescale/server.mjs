// TimescaleDB test server for Flux.
//
// Runs an in-memory PGlite (WASM PostgreSQL 17.5) with the TimescaleDB 2.23
// extension bundle loaded and serves it over the PostgreSQL wire protocol
// with @electric-sql/pglite-socket.
//
// Usage:  node server.mjs [PORT]        (or PORT=... node server.mjs)
//         PORT 0 (the default) lets the OS pick a free port.
//
// Environment:
//   PORT                    port to listen on when no argv is given (default 0)
//   HOST                    address to bind (default 127.0.0.1)
//   TS_CREATE_EXTENSION=1   run CREATE EXTENSION timescaledb before listening
//   TS_SESSION_RESET=0      do NOT reset the shared session between clients
//   TS_EXIT_ON_STDIN_EOF=1  shut down when stdin closes (i.e. the parent died)
//   TS_DEBUG=1              pglite-socket's own per-call logging (noisy)
//   TS_TRACE=1              log every batch handed to PGlite (noisy)
//
// On success exactly one line starting with "READY " is printed on stdout:
//   READY host=127.0.0.1 port=54321 pg=17.5 timescaledb=available
// (timescaledb=<version> with TS_CREATE_EXTENSION=1). Logs go to stderr.
// SIGTERM / SIGINT stop the server and exit 0; a WASM crash exits 1.
//
// Any user name / password / database name is accepted; the session is always
// user "postgres" in database "template1". Only one client connection is
// served at a time: further connections wait (up to 60 s) in a queue until the
// current one disconnects.

import { PGlite } from '@electric-sql/pglite'
import { timescaledb } from '@electric-sql/pglite/timescaledb'
import {
  PGLiteSocketHandler,
  PGLiteSocketServer,
} from '@electric-sql/pglite-socket'

const log = (...args) => console.error('[timescale-server]', ...args)

const host = process.env.HOST || '127.0.0.1'
const port = parsePort(process.argv[2] ?? process.env.PORT)
const debug = process.env.TS_DEBUG === '1'
const trace = process.env.TS_TRACE === '1'
const sessionReset = process.env.TS_SESSION_RESET !== '0'

// --- Wire-protocol fixes ---------------------------------------------------
// pglite-socket 0.0.19 hands every TCP 'data' chunk straight to one
// PGlite.execProtocolRaw() call. We replace PGLiteSocketHandler's handleData
// with a wrapper that fixes these problems (all found with psycopg 3):
//
// 1. Split messages. A message larger than one TCP read (~64 KiB: a big
//    parameter, a large executemany/pipeline batch) arrives in pieces, and
//    PGlite's WASM backend aborts on a partial message with
//    "RuntimeError: unreachable", killing the database. PGlite now only gets
//    whole messages, processed strictly in order.
// 2. Dropped messages. PGlite reads its input in 8192-byte blocks and silently
//    DISCARDS the rest of the input when a message ends exactly on a block
//    boundary (inside one execProtocolRaw call). The client then waits forever
//    for the answers (e.g. a psycopg executemany hangs at random). We hand
//    PGlite batches of at most 8192 bytes (a bigger message goes alone), so
//    no message can end on an interior block boundary.
// 3. SSL. SSLRequest / GSSENCRequest are answered with 'N' (continue in plain
//    text) instead of being forwarded; PGlite answers them with an auth
//    message, so libpq's default sslmode=prefer failed with "received invalid
//    response to SSL negotiation: R".
// 4. COPY ... FROM STDIN aborts the WASM backend ("RuntimeError:
//    unreachable"). Such statements are rewritten into one that raises an
//    ordinary SQL error (SQLSTATE 0A000 feature_not_supported), so the client
//    gets a normal exception and transactions / SAVEPOINTs keep working.
//    COPY ... TO STDOUT works and is left alone.
// 5. Shared session. PGlite is ONE backend session shared by all successive
//    connections: prepared statements (psycopg's "_pg3_0", ...), temp tables,
//    SET values, LISTENs, advisory locks and even the open transaction of a
//    client that disconnected survive into the next connection. Before a new
//    connection's startup packet we run Sync; ROLLBACK; DISCARD ALL and restore
//    PGlite's session defaults (output dropped). TS_SESSION_RESET=0 disables.
//    We also lower client_min_messages from PGlite's DEBUG3 to NOTICE, so
//    clients do not get a DEBUG notice for every Parse/Bind.
// 6. Stuck queue. When a client socket errors (e.g. ECONNRESET from a client
//    that gave up while queued), the handler detaches without the 'close'
//    event the server waits for, so every queued and later connection hung
//    forever. The patched handleError also emits 'close'.
// 7. Abandoned clients. A client that gave up while queued (connect timeout)
//    is still attached when its turn comes, and then never completes the
//    startup handshake, blocking everyone behind it. Like PostgreSQL's
//    authentication_timeout, a client that has not finished startup within
//    5 s of being attached is disconnected.

const SSL_REQUEST_CODE = 80877103
const GSSENC_REQUEST_CODE = 80877104
const CANCEL_REQUEST_CODE = 80877102
const PGLITE_READ_BLOCK = 8192
const STARTUP_TIMEOUT_MS = 5_000

function queryMessage(sql) {
  const body = Buffer.from(`${sql}\0`, 'utf8')
  const msg = Buffer.alloc(5 + body.length)
  msg.write('Q', 0, 'latin1')
  msg.writeInt32BE(4 + body.length, 1)
  body.copy(msg, 5)
  return msg
}

const SESSION_DEFAULTS_SQL =
  'SET search_path TO public; SET client_min_messages TO notice'
const RESET_MESSAGES = Buffer.concat([
  Buffer.from([0x53, 0, 0, 0, 4]), // Sync: end any half-done extended batch
  queryMessage('ROLLBACK'),
  queryMessage('DISCARD ALL'),
  queryMessage(SESSION_DEFAULTS_SQL),
])

const COPY_FROM_STDIN =
  /^\s*(?:(?:--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)\s*)*copy\b[\s\S]*?\bfrom\s+stdin\b/i
const COPY_REPLACEMENT =
  "DO $flux_copy$ BEGIN RAISE EXCEPTION USING ERRCODE = 'feature_not_supported', " +
  "MESSAGE = 'COPY FROM STDIN is not supported by the PGlite socket server (it crashes the WASM backend)', " +
  "HINT = 'Use INSERT (e.g. executemany) instead.'; END $flux_copy$"

// Returns the message, with a COPY ... FROM STDIN statement replaced.
function guardCopy(msg) {
  const type = msg[0]
  if (type === 0x51 /* Q: simple query */) {
    const sql = msg.toString('utf8', 5, msg.length - 1)
    return COPY_FROM_STDIN.test(sql) ? queryMessage(COPY_REPLACEMENT) : msg
  }
  if (type === 0x50 /* P: parse */) {
    const nameEnd = msg.indexOf(0, 5)
    const queryEnd = nameEnd < 0 ? -1 : msg.indexOf(0, nameEnd + 1)
    if (queryEnd < 0) return msg
    if (!COPY_FROM_STDIN.test(msg.toString('utf8', nameEnd + 1, queryEnd))) {
      return msg
    }
    const body = Buffer.concat([
      msg.subarray(5, nameEnd + 1), // statement name + NUL
      Buffer.from(`${COPY_REPLACEMENT}\0`, 'utf8'),
      msg.subarray(queryEnd + 1), // parameter type OIDs
    ])
    const out = Buffer.alloc(5 + body.length)
    out.write('P', 0, 'latin1')
    out.writeInt32BE(4 + body.length, 1)
    body.copy(out, 5)
    return out
  }
  return msg
}

// Split whole messages into batches PGlite processes completely (fix 2).
function batches(messages) {
  const out = []
  let current = []
  let size = 0
  for (const msg of messages) {
    if (current.length > 0 && size + msg.length > PGLITE_READ_BLOCK) {
      out.push(current.length === 1 ? current[0] : Buffer.concat(current))
      current = []
      size = 0
    }
    current.push(msg)
    size += msg.length
  }
  if (current.length > 0) {
    out.push(current.length === 1 ? current[0] : Buffer.concat(current))
  }
  return out
}

const originalHandleData = PGLiteSocketHandler.prototype.handleData
if (typeof originalHandleData !== 'function') {
  throw new Error(
    'unexpected @electric-sql/pglite-socket version: ' +
      'PGLiteSocketHandler.prototype.handleData is missing',
  )
}

const originalHandleError = PGLiteSocketHandler.prototype.handleError
if (typeof originalHandleError !== 'function') {
  throw new Error(
    'unexpected @electric-sql/pglite-socket version: ' +
      'PGLiteSocketHandler.prototype.handleError is missing',
  )
}

PGLiteSocketHandler.prototype.handleError = function handleErrorAndClose(err) {
  originalHandleError.call(this, err)
  this.dispatchEvent(new CustomEvent('close')) // lets the server go on (fix 6)
}

function framingState(handler) {
  return (handler.__fluxFraming ??= {
    buf: Buffer.alloc(0),
    inStartup: true, // no StartupMessage seen yet
    handshakeDone: false, // first typed message (password) seen
    resetPending: false,
    chain: Promise.resolve(),
  })
}

const originalAttach = PGLiteSocketHandler.prototype.attach
PGLiteSocketHandler.prototype.attach = async function attachWithTimeout(socket) {
  const result = await originalAttach.call(this, socket)
  const state = framingState(this)
  setTimeout(() => {
    if (!state.handshakeDone && this.socket === socket) {
      log('client did not finish the startup handshake in time; dropping it')
      socket.destroy()
    }
  }, STARTUP_TIMEOUT_MS).unref()
  return result
}

PGLiteSocketHandler.prototype.handleData = function framedHandleData(data) {
  const state = framingState(this)
  state.buf = state.buf.length === 0 ? data : Buffer.concat([state.buf, data])
  const messages = []
  let off = 0
  for (;;) {
    const available = state.buf.length - off
    if (state.inStartup) {
      // Untyped startup-phase packet: Int32 length (self-inclusive), Int32 code.
      if (available < 8) break
      const len = state.buf.readInt32BE(off)
      if (len < 8 || len > 10_000) {
        return protocolError(this, `bad startup packet length ${len}`)
      }
      if (available < len) break
      const code = state.buf.readInt32BE(off + 4)
      const packet = state.buf.subarray(off, off + len)
      off += len
      if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) {
        this.socket?.write('N')
        continue
      }
      if (code === CANCEL_REQUEST_CODE) {
        this.socket?.end() // nothing to cancel in a single in-process backend
        return Promise.resolve(0)
      }
      state.inStartup = false
      state.resetPending = sessionReset
      messages.push(packet)
    } else {
      // Typed message: Byte1 type, Int32 length (self-inclusive).
      if (available < 5) break
      const len = state.buf.readInt32BE(off + 1)
      if (len < 4) return protocolError(this, `bad message length ${len}`)
      if (available < len + 1) break
      state.handshakeDone = true
      messages.push(guardCopy(state.buf.subarray(off, off + 1 + len)))
      off += 1 + len
    }
  }
  // Keep only the incomplete tail (copied, so the large buffer can be freed).
  state.buf = off === 0 ? state.buf : Buffer.from(state.buf.subarray(off))
  if (messages.length === 0) return Promise.resolve(0)

  const reset = state.resetPending
  state.resetPending = false
  const result = state.chain.then(async () => {
    if (reset) await this.db.execProtocolRaw(RESET_MESSAGES) // output dropped
    let written = 0
    for (const batch of batches(messages)) {
      if (trace) log(`trace: -> ${batch.length} bytes, types ${typesOf(batch)}`)
      try {
        written += await originalHandleData.call(this, batch)
      } catch (err) {
        // 'no data': the batch produced no output (e.g. a lone Flush). Fine.
        if (err !== 'no data') throw err
      }
    }
    if (trace) log(`trace: <- ${written} bytes`)
    return written
  })
  state.chain = result.catch(() => {})
  return result
}

function typesOf(batch) {
  let types = ''
  for (let o = 0; o + 5 <= batch.length; o += 1 + batch.readInt32BE(o + 1)) {
    types += String.fromCharCode(batch[o])
  }
  return types.length > 24 ? `${types.slice(0, 12)}..${types.slice(-12)}` : types
}

function protocolError(handler, why) {
  log(`protocol error, closing client connection: ${why}`)
  handler.socket?.destroy()
  return Promise.reject(new Error(why))
}

function parsePort(raw) {
  const value = raw === undefined || raw === '' ? '0' : String(raw)
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    log(`invalid port: ${JSON.stringify(value)}`)
    process.exit(2)
  }
  return n
}

// --- Lifecycle ---------------------------------------------------------------

let db = null
let server = null
let stopping = false

async function shutdown(reason, code = 0) {
  if (stopping) return
  stopping = true
  log(`shutting down (${reason})`)
  setTimeout(() => process.exit(code), 5000).unref() // never hang here
  try {
    if (server) await server.stop()
  } catch (err) {
    log('error stopping socket server:', err)
  }
  try {
    if (db && code === 0) await db.close()
  } catch (err) {
    log('error closing PGlite:', err)
  }
  process.exit(code)
}

// A client resetting its connection makes pglite-socket reject an internal
// lock promise nobody awaits; that must not take the server down. A WASM trap
// ("RuntimeError: unreachable") leaves PGlite unusable, though: exit 1.
function onAsyncError(kind, err) {
  if (err instanceof WebAssembly.RuntimeError) {
    log(`${kind}: PGlite WASM backend crashed:`, err)
    void shutdown('WASM crash', 1)
  } else {
    log(`${kind} (ignored):`, debug ? err : String(err?.message ?? err))
  }
}

process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
process.on('uncaughtException', (err) => onAsyncError('uncaught exception', err))
process.on('unhandledRejection', (err) => onAsyncError('unhandled rejection', err))
if (process.env.TS_EXIT_ON_STDIN_EOF === '1') {
  process.stdin.on('end', () => void shutdown('stdin closed'))
  process.stdin.on('error', () => void shutdown('stdin error'))
  process.stdin.resume()
}

try {
  const started = Date.now()
  // In-memory database. The extension object makes PGlite unpack
  // dist/timescaledb.tar.gz (timescaledb*.so + SQL scripts) into its virtual
  // filesystem; CREATE EXTENSION then works like on a normal server.
  db = await PGlite.create({ extensions: { timescaledb } })
  await db.exec(SESSION_DEFAULTS_SQL)
  const version = (await db.query('SHOW server_version')).rows[0].server_version
  let tsState = 'available'
  if (process.env.TS_CREATE_EXTENSION === '1') {
    await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb')
    const res = await db.query(
      "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'",
    )
    tsState = res.rows[0].extversion
  }

  server = new PGLiteSocketServer({ db, port, host, debug, inspect: false })
  server.addEventListener('error', (event) => {
    const err = event.detail
    log(`client connection error: ${err?.message ?? String(err)}`)
  })
  await server.start()
  const boundPort = server.getServerConn().split(':').pop()
  log(`started in ${Date.now() - started} ms`)
  process.stdout.write(
    `READY host=${host} port=${boundPort} pg=${version} timescaledb=${tsState}\n`,
  )
} catch (err) {
  log('failed to start:', err)
  await shutdown('startup failure', 1)
}

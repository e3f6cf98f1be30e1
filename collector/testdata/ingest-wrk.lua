-- The ingest benchmark's load driven by wrk (Debian's package), which
-- costs the shared cores less per request than a Go client. BenchmarkIngest
-- runs it with REPLAY_INGEST_WRK=1:
--
--   wrk -t1 -c64 -d60s -s ingest-wrk.lua http://127.0.0.1:8099 -- \
--       <dir> <segments> <requests> <sid-prefix> <connections>
--
-- <dir> holds the recorded visit's segments (NNN.query without sid, NNN.body
-- gzip, timestamps already moved to the last hour). Request k goes to
-- session (k mod connections) of the current block of sessions and carries
-- that session's next segment, so `connections` sessions upload at once,
-- under ids never used before (<sid-prefix> + a counter). wrk's request()
-- is not told which connection asks, so a session's next segment goes out
-- `connections` requests after its previous one: in order, and almost always
-- after the previous one was answered (the collector accepts either way).
--
-- wrk runs for a duration, not a count: once <requests> have been answered
-- the script prints REPLAY-WRK-DONE and stops its thread, and BenchmarkIngest
-- then interrupts wrk (SIGINT), whose summary then covers exactly that time.

local tails = {}
local segments, limit, prefix, conns = 0, 0, "", 1
local sent = 0

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

-- Each request is built by one concatenation: the fixed start, the session
-- id, and the segment's pre-built rest (query, headers, body). wrk counts
-- responses and their status itself; a Lua response() callback would cost
-- a table per response.
function init(args)
  local dir = args[1]
  segments, limit, prefix, conns = tonumber(args[2]), tonumber(args[3]), args[4], tonumber(args[5])
  local host = wrk.host .. ":" .. wrk.port
  for i = 0, segments - 1 do
    local base = string.format("%s/%03d", dir, i)
    local query, body = slurp(base .. ".query"), slurp(base .. ".body")
    tails[i] = "&" .. query .. " HTTP/1.1\r\nHost: " .. host ..
      "\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: " .. #body ..
      "\r\n\r\n" .. body
  end
end

function request()
  local k = sent
  sent = sent + 1
  -- Each connection asks for its next request once its last one was
  -- answered, so with every connection busy, request k is asked for after
  -- k - conns + 1 answers: <requests> answered (and one more), stop.
  if k == limit + conns then
    io.write("REPLAY-WRK-DONE\n")
    io.flush()
    wrk.thread:stop()
  end
  local slot, round = k % conns, math.floor(k / conns)
  local session = math.floor(round / segments) * conns + slot
  local seg = round % segments
  -- 8 + 14 characters: a valid id ([A-Za-z0-9_-], 16 to 64).
  return "POST /__replay/v1/segments?sid=" .. prefix .. string.format("%014d", session) .. tails[seg]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("REPLAY-WRK requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d non2xx=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end

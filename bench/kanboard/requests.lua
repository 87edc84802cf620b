-- wrk script for bench/kanboard/run.sh. It sends WRK_METHOD (default GET) requests,
-- with WRK_BODY as the body if set, cycling through the space-separated paths of
-- WRK_PATHS (each wrk thread starts at the first), with the -H headers given to wrk.
-- At the end it prints one line that run.sh reads:
--   FIGURES requests=N seconds=S bytes=B p50_ms=… p99_ms=… status_errors=… socket_errors=… timeouts=…
-- There is no response() callback, so wrk does not hand every body to Lua: the client
-- costs the same per byte for every server.

local paths = {}
for path in string.gmatch(os.getenv("WRK_PATHS") or "/", "%S+") do
  paths[#paths + 1] = path
end
local method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
if body == "" then body = nil end

local requests = {}
local next_one = 0

function init(args)
  for i, path in ipairs(paths) do
    requests[i] = wrk.format(method, path, nil, body)
  end
end

function request()
  next_one = next_one % #requests + 1
  return requests[next_one]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "FIGURES requests=%d seconds=%.3f bytes=%d p50_ms=%.2f p99_ms=%.2f status_errors=%d socket_errors=%d timeouts=%d\n",
    summary.requests, summary.duration / 1e6, summary.bytes,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.status, e.connect + e.read + e.write, e.timeout))
end

-- wrk script of bench/webhook_ingest.py: sends requests signed in advance, each exactly once.
--
-- wrk <url> -s bench/webhook_ingest.lua -- <dir>
-- Thread n reads <dir>/requests-<n>.txt, one request a line: path, x-request-id, x-signature
-- ("" for legacy IPN) and body, separated by tabs. It writes each answer's status and the inbox
-- id in its body to <dir>/answers-<n>.txt, and prints its figures as one JSON line per thread
-- and one for the run. A thread that runs out of requests stops (and says so): none is resent.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local dir = args[1]
  pool = {}
  for line in io.lines(dir .. "/requests-" .. id .. ".txt") do
    local path, request_id, signature, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {
      ["Content-Type"] = "application/json",
      ["User-Agent"] = "restclient-node/bench",
      ["X-Request-Id"] = request_id,
      ["X-Retry"] = "0",
    }
    if signature ~= "" then
      headers["X-Signature"] = signature
    end
    pool[#pool + 1] = wrk.format("POST", path, headers, body)
  end
  sent = 0
  exhausted = 0
  answers = io.open(dir .. "/answers-" .. id .. ".txt", "w")
end

function request()
  if sent >= #pool then
    exhausted = 1
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")  -- stores nothing
  end
  sent = sent + 1
  return pool[sent]
end

function response(status, headers, body)
  answers:write(status, "\t", body:match('"id":%s*(%d+)') or "", "\n")
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    io.write(string.format('WRK-THREAD {"id": %d, "sent": %d, "exhausted": %d}\n',
      thread:get("id"), thread:get("sent"), thread:get("exhausted")))
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK-RUN {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, ' ..
    '"status_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout))
end

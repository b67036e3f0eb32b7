-- wrk script: paced chat requests (delay per connection = PACE_MS) that
-- count statuses; with C connections the offered rate is about
-- C * 1000 / PACE_MS requests/s.
wrk.method = "POST"
wrk.body = '{"model":"bench-1","messages":[{"role":"user","content":"hello under faults"}]}'
wrk.headers["content-type"] = "application/json"
wrk.headers["user-agent"] = "wrk-faults"
local token = os.getenv("TOKEN")
if token then wrk.headers["authorization"] = "Bearer " .. token end
local pace = tonumber(os.getenv("PACE_MS") or "10")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
end

function delay()
  return pace
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do total[k] = (total[k] or 0) + v end
  end
  local all, ok = 0, 0
  for k, v in pairs(total) do
    io.write(string.format("status %d: %d\n", k, v))
    all = all + v
    if k >= 200 and k < 300 then ok = ok + v end
  end
  io.write(string.format("requests %d, success %.4f%%, p50 %.2f ms, p99 %.2f ms, rate %.0f req/s\n",
    all, 100 * ok / math.max(all, 1), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6)))
end

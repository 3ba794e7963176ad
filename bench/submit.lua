-- wrk script: POST /f/demo form submissions, each with a unique email address.
-- Arguments (after `--`): <render stamp> <address prefix>. Prints a JSON summary at the end.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  stamp = args[1] or ""
  prefix = args[2] or "bench"
  headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
end

function request()
  counter = counter + 1
  local body = string.format("email=%s-%d-%d%%40example-shop.net&_ts=%s", prefix, thread_id, counter, stamp)
  return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "status_errors": %d, "timeouts": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end

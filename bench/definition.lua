-- wrk script: GET /f/<slug>/definition as the embed script does, from an allowed site.
-- Arguments (after `--`): <Origin> [<ETag>]; with an ETag, as a browser revalidating its copy
-- (If-None-Match, answered 304). Prints a JSON summary at the end.

function init(args)
  wrk.headers["Origin"] = args[1]
  wrk.headers["Accept"] = "application/json"
  if args[2] and args[2] ~= "" then
    wrk.headers["If-None-Match"] = args[2]
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "socket_errors": %d, "status_errors": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end

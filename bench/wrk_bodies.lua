-- wrk script: POST a different body with every request, cycling through a file of JSON bodies
-- (one per line), and print a JSON summary when the run ends. Used by bench/serve.py.
local bodies = {}
local index = 0

function init(args)
  local path = args[1]
  for line in io.lines(path) do
    bodies[#bodies + 1] = line
  end
  -- Each thread starts at a different offset so threads do not send the same review together.
  index = math.random(#bodies)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  index = index % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[index])
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end

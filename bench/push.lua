-- wrk script: POSTs the last hour of minute samples to one SLO's events API, as a service's exporter would every
-- few seconds. The same minutes each time: a pushed minute replaces the stored one, so the data stays sane.
--   BENCH_TOKEN=... wrk -s bench/push.lua http://HOST/api/v1/slos/default/NAME/events
local token = os.getenv("BENCH_TOKEN") or error("BENCH_TOKEN is not set")
local now = os.time()
local samples = {}
for ago = 60, 1, -1 do
    local at = os.date("!%Y-%m-%dT%H:%M:00Z", now - ago * 60)
    samples[#samples + 1] = string.format('{"timestamp":"%s","good":%d,"total":%d}', at, 995 + ago % 5, 1000)
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.body = "[" .. table.concat(samples, ",") .. "]"

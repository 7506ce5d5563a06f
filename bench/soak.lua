-- wrk script for bench/soak.sh: each connection walks through the paths in $SOAK_PATHS (space-separated, each
-- starting with /) in turn, and every 5xx answer is counted; done() prints "soak-5xx: N".
local paths = {}
for path in string.gmatch(os.getenv("SOAK_PATHS") or "", "%S+") do
    paths[#paths + 1] = path
end
if #paths == 0 then
    error("SOAK_PATHS is empty")
end

local threads = {}

function setup(thread)
    thread:set("offset", #threads)
    threads[#threads + 1] = thread
end

function init(args)
    server_errors = 0
    position = offset or 0
end

function request()
    position = position % #paths + 1
    return wrk.format("GET", paths[position])
end

function response(status, headers, body)
    if status >= 500 then
        server_errors = server_errors + 1
    end
end

function done(summary, latency, requests)
    local total = 0
    for _, thread in ipairs(threads) do
        total = total + (thread:get("server_errors") or 0)
    end
    io.write(string.format("soak-5xx: %d\n", total))
end

-- wrk script: a realistic mix of the three VTEX hooks (60 % orders, 25 % carts, 15 % customers),
-- unique per request except for ~5 % repeats, with the store's secret header.
local counter = 0
local thread_id = 0
local threads = {}
local secret = os.getenv("BENCH_SECRET") or "bench-secret-0123456789abcdef"
local run = os.getenv("BENCH_RUN") or "0"

function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function request()
  counter = counter + 1
  local n = counter
  if n % 20 == 0 then n = n - 1 end  -- a repeat of the previous event
  local id = run .. "-" .. tid .. "-" .. n
  local pick = n % 20
  local path, body
  if pick < 12 then
    path = "/hooks/vtex/benchstore/orders"
    body = '{"Domain":"Marketplace","OrderId":"v' .. id .. '-01","State":"payment-approved",' ..
           '"LastState":"payment-pending","LastChange":"2026-11-27T13:30:00.1234567Z",' ..
           '"CurrentChange":"2026-11-27T13:30:01.1234567Z","Origin":{"Account":"benchstore","Key":"vtexappkey-x"}}'
  elseif pick < 17 then
    path = "/hooks/vtex/benchstore/carts"
    body = '{"rclastcart":"add?sku=' .. n .. '&qty=1&seller=1&sc=1","rclastcartvalue":"129.90",' ..
           '"rclastsession":"s","rclastsessiondate":"2026-11-27T12:00:00.1234567Z","email":"c' .. id ..
           '@example.com","userId":"u","firstName":"Ana","lastName":"Silva","localeDefault":"pt-BR","id":"cl",' ..
           '"accountId":"a","accountName":"benchstore","dataEntityId":"CL","createdBy":"x","createdIn":"",' ..
           '"updatedBy":"x","updatedIn":"2026-11-27T12:01:00Z","lastInteractionBy":"x","lastInteractionIn":""}'
  else
    path = "/hooks/vtex/benchstore/customers"
    body = '{"email":"p' .. id .. '@example.com","firstName":"Bo","lastName":"Souza","phone":"+55 11 99999-0000",' ..
           '"userId":"u' .. id .. '","isNewsletterOptIn":"true","id":"cl","updatedIn":"2026-11-27T12:00:00Z"}'
  end
  return wrk.format("POST", path, {["Content-Type"] = "application/json", ["X-Hook-Secret"] = secret}, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for code, n in pairs(s) do counts[code] = (counts[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(counts) do table.insert(parts, '"' .. code .. '":' .. n) end
  io.write(string.format('BENCH_JSON {"requests":%d,"seconds":%.3f,"p50_ms":%.3f,"p99_ms":%.3f,' ..
    '"errors":%d,"statuses":{%s}}\n', summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, table.concat(parts, ",")))
end

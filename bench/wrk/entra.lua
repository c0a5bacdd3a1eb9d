-- Entra's request shapes for wrk (npm run bench, bench/entra.ts). One script, the workload picked by its first
-- argument; everything a request needs is read from files the bench wrote (data/), so both servers get the same
-- requests and no request is built by string work the server would not see from Entra either.
--
--   wrk ... -s bench/wrk/entra.lua <url> -- <workload> <dataDir> <basePath> <token> <start> <tag> <mode> <threads>
--
-- workload: L (filter=userName eq), G (list pages of 100, walked in order), P (PATCH Replace, Entra's legacy dialect, three
--           operations), C (create, a unique userName each), MA (member add), MR (member remove)
-- dataDir:  user-names.txt (one userName per line, user i on line i+1), user-ids.txt, group-ids.txt (ids on this
--           server, same order)
-- start:    the first membership pair of MA/MR (pair p: user u = p % users joins group (u + floor(p / users)) % groups,
--           as bench/targets.ts pairOf)
-- mode:     "groups" (joyn-scim) or "users" (the reference has no /Groups: MA/MR go to /Users/<id> with the same
--           body, the nearest request it serves: one PATCH operation on a multi-valued attribute)
-- threads:  wrk's -t, so each thread takes its own pairs (thread t of T: start + t, start + t + T, …)

local threads = {}
-- Globals, so done() can read them from each thread (thread:get).
counter = 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local function lines(path)
  local out = {}
  for line in io.lines(path) do
    if line ~= "" then out[#out + 1] = line end
  end
  return out
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~@]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local PATCH_OP = '"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]'
local workload, base, start, tag, mode, nthreads
local userNames, userIds, groupIds
local headers, lookups
local json = "application/scim+json"

function init(args)
  workload, base, start, tag, mode, nthreads =
    args[1], args[3], tonumber(args[5]), args[6], args[7], tonumber(args[8])
  local dir = args[2]
  headers = { ["Authorization"] = "Bearer " .. args[4], ["Accept"] = json }
  userIds = lines(dir .. "/user-ids.txt")
  if workload == "L" then
    userNames = lines(dir .. "/user-names.txt")
    -- Entra's encoding: `+` for spaces, the quotes escaped (entra-scim-client.md §1.3).
    lookups = {}
    for i, name in ipairs(userNames) do
      lookups[i] = wrk.format("GET", base .. "/Users?filter=userName+eq+%22" .. urlencode(name) .. "%22", headers)
    end
  end
  if (workload == "MA" or workload == "MR") and mode == "groups" then
    groupIds = lines(dir .. "/group-ids.txt")
  end
  math.randomseed(os.time() + (tid or 0) * 7919)
  headers["Content-Type"] = json
end

local function pair(n)
  local p = start + (tid or 0) + nthreads * n
  local users = #userIds
  local user = p % users
  if not groupIds then return userIds[user + 1], nil end
  local group = (user + math.floor(p / users)) % #groupIds
  return userIds[user + 1], groupIds[group + 1]
end

function request()
  local n = counter
  counter = counter + 1
  if workload == "L" then
    return lookups[math.random(#lookups)]
  elseif workload == "G" then
    -- Account Discovery (entra-scim-client.md §1.24): pages of 100 in order, startIndex 1, 101, 201, …, from
    -- the first page again after the last. Each request asks for the page after the previous request's.
    local pages = math.ceil(#userIds / 100)
    return wrk.format("GET", base .. "/Users?startIndex=" .. (1 + 100 * (n % pages)) .. "&count=100", headers)
  elseif workload == "P" then
    local id = userIds[math.random(#userIds)]
    local v = tag .. "-" .. (tid or 0) .. "-" .. n
    local body = "{" .. PATCH_OP .. ',"Operations":['
      .. '{"op":"Replace","path":"displayName","value":"Renamed ' .. v .. '"},'
      .. '{"op":"Replace","path":"name.givenName","value":"Given ' .. v .. '"},'
      .. '{"op":"Replace","path":"name.familyName","value":"Family ' .. v .. '"}]}'
    return wrk.format("PATCH", base .. "/Users/" .. id, headers, body)
  elseif workload == "C" then
    local u = "c-" .. tag .. "-" .. (tid or 0) .. "-" .. n
    local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",'
      .. '"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],'
      .. '"externalId":"' .. u .. '","userName":"' .. u .. '@bench.example.com","active":true,'
      .. '"displayName":"Created ' .. u .. '",'
      .. '"emails":[{"primary":true,"type":"work","value":"' .. u .. '@bench.example.com"}],'
      .. '"meta":{"resourceType":"User"},'
      .. '"name":{"formatted":"Created ' .. u .. '","familyName":"' .. u .. '","givenName":"Created"},'
      .. '"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Field Ops"},'
      .. '"roles":[]}'
    return wrk.format("POST", base .. "/Users", headers, body)
  else
    -- Entra's member add and legacy member remove (entra-scim-client.md §1.20, §1.21).
    local user, group = pair(n)
    local op = workload == "MA" and "Add" or "Remove"
    local body = "{" .. PATCH_OP .. ',"Operations":[{"op":"' .. op .. '","path":"members","value":[{"$ref":null,"value":"'
      .. user .. '"}]}]}'
    local target = mode == "groups" and ("/Groups/" .. group) or ("/Users/" .. user)
    return wrk.format("PATCH", base .. target, headers, body)
  end
end

function done(summary, latency, requests)
  local most = 0
  for _, t in ipairs(threads) do
    local c = t:get("counter") or 0
    if c > most then most = c end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"meanUs":%.1f,"maxUs":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"perThread":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout, most))
end

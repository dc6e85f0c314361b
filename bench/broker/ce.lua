-- wrk script: one binary-mode CloudEvent per POST (ce-* headers), a 1 KiB JSON body, a unique ce-id
-- per request (thread number + counter). Every contender is driven with this same script.
local body = '{"data":"' .. string.rep("x", 1024 - 11) .. '"}'
local threads = {}
local counter = 0
local tid = 0

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["content-type"] = "application/json"
  wrk.headers["ce-specversion"] = "1.0"
  wrk.headers["ce-type"] = "dev.eddy.bench.broker"
  wrk.headers["ce-source"] = "/bench/broker"
end

function request()
  counter = counter + 1
  wrk.headers["ce-id"] = "w" .. tid .. "-" .. counter
  return wrk.format()
end

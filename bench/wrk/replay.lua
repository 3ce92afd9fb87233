-- Replays a file of complete, pre-signed HTTP requests, each one once, and prints wrk's
-- figures as one JSON line. bench/wrk_load.py writes the file and runs:
--
--   wrk -t THREADS -c CONNECTIONS -d LIMIT -s bench/wrk/replay.lua URL -- FILE DONE_FILE THREADS
--
-- FILE is a sequence of records "<slice> <length>\n" + <length> bytes of request. Thread n
-- (0-based, in the order wrk creates them) sends the records of slice n, in file order, and
-- stops once every one of them is answered. wrk's main thread sleeps for the whole of -d
-- whatever its threads do, so the last thread to finish wakes it with SIGINT, which is
-- also what wrk's own Ctrl-C does: it then joins the threads and calls done().

local ffi = require("ffi")
ffi.cdef([[
typedef unsigned long pthread_t;
pthread_t pthread_self(void);
int pthread_kill(pthread_t thread, int sig);
]])
local SIGINT = 2

local threads = {}

function setup(thread)
  -- setup() runs in wrk's main thread: the one to wake at the end.
  thread:set("slice", #threads)
  thread:set("main_thread", tonumber(ffi.C.pthread_self()))
  table.insert(threads, thread)
end

local function read_slice(path, wanted)
  local file = assert(io.open(path, "rb"))
  local data = file:read("*a")
  file:close()
  local queue, position = {}, 1
  while position <= #data do
    local newline = assert(data:find("\n", position, true), "truncated record header")
    local slice, length = data:sub(position, newline - 1):match("^(%d+) (%d+)$")
    assert(slice, "malformed record header")
    length = tonumber(length)
    if tonumber(slice) == wanted then
      queue[#queue + 1] = data:sub(newline + 1, newline + length)
    end
    position = newline + 1 + length
  end
  return queue
end

function init(args)
  queue = read_slice(args[1], slice)
  done_file, thread_count = args[2], tonumber(args[3])
  assert(#queue > 0, "slice " .. slice .. " has no requests")
  sent, answered, statuses = 0, 0, {}
  -- wrk calls request() once on its first thread before any thread starts, to check that
  -- the script makes valid HTTP; that call must not use up a request.
  checking = slice == 0
end

function request()
  if checking then
    checking = false
    return queue[1]
  end
  if sent == #queue then
    -- This slice is all sent: a connection that asks for more sends nothing and waits,
    -- so that no request is repeated and none but the file's is timed.
    return ""
  end
  sent = sent + 1
  return queue[sent]
end

local function wake_main_if_last()
  local file = assert(io.open(done_file, "ab"))
  file:write("x")
  file:close()
  file = assert(io.open(done_file, "rb"))
  local finished = #file:read("*a")
  file:close()
  -- Appends of one byte are atomic, so the thread whose byte is the last one sees them all.
  if finished >= thread_count then
    ffi.C.pthread_kill(main_thread, SIGINT)
  end
end

function response(status, headers, body)
  answered = answered + 1
  local code = tostring(status)
  statuses[code] = (statuses[code] or 0) + 1
  if answered == #queue then
    wrk.thread:stop()
    wake_main_if_last()
  end
end

function done(summary, latency, requests)
  assert(#threads == threads[1]:get("thread_count"), "THREADS must be wrk's -t")
  local statuses, sent, answered = {}, 0, 0
  for _, thread in ipairs(threads) do
    sent = sent + thread:get("sent")
    answered = answered + thread:get("answered")
    for code, count in pairs(thread:get("statuses")) do
      statuses[code] = (statuses[code] or 0) + count
    end
  end
  local codes = {}
  for code, count in pairs(statuses) do
    codes[#codes + 1] = string.format('"%s": %d', code, count)
  end
  local errors = summary.errors
  io.write(string.format(
    'wrk-figures {"sent": %d, "answered": %d, "statuses": {%s}, "duration_us": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}}\n',
    sent, answered, table.concat(codes, ", "), summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, errors.connect, errors.read, errors.write, errors.timeout
  ))
end

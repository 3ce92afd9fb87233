-- Replays a file of complete, pre-signed HTTP requests, each one once, and prints wrk's
-- figures as one JSON line. bench/wrk_load.py writes the file and runs:
--
--   wrk -t THREADS -c CONNECTIONS -d LIMIT -s bench/wrk/replay.lua URL -- FILE DONE_FILE THREADS [RATE]
--
-- With RATE (requests a second, for the whole run), each thread sends its share at a
-- constant pace: Debian's wrk has no constant-rate mode (wrk2's -R), so delay() holds each
-- connection's next request until the thread's next slot, one every THREADS / RATE
-- seconds from the first. A thread that falls behind catches up as fast as its connections
-- go, so the achieved rate is the sent count over the run's duration, not RATE.
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
struct timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clock, struct timespec *now);
]])
local SIGINT = 2
local CLOCK_MONOTONIC = 1
local now_ts = ffi.new("struct timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now_ts)
  return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
end

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
  if args[4] then
    -- wrk asks whether delay() exists after init() of its first thread: defined here, it
    -- paces every request, each connection's first one included.
    interval_ms = 1000 * thread_count / tonumber(args[4])
    delay = paced_delay
  end
end

function paced_delay()
  -- Called before each request of any of this thread's connections: the time until the
  -- thread's next free slot, which it takes. The slots are fixed from the first one, so a
  -- millisecond rounded off one does not move the next.
  local now = now_ms()
  next_slot = next_slot or now
  local wait = next_slot - now
  next_slot = next_slot + interval_ms
  return wait > 0 and math.floor(wait) or 0
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

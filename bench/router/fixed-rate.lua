-- wrk script: send RATE requests per second in total, over however many connections wrk has (-c).
--
--   wrk -t1 -cCONNECTIONS -dDs --latency -s fixed-rate.lua URL -- RATE
--
-- RATE is per wrk thread (each thread has its own Lua state and nothing tells it how many threads
-- there are); run.mjs uses one thread.
--
-- wrk has no rate option. Its one hook for pacing is delay(): wrk calls it after each response on a
-- connection, and that connection waits the returned number of milliseconds before sending its next
-- request. delay() gets no argument saying which connection it is for.
--
-- The simple pacing, every connection waiting CONNECTIONS * 1000 / RATE ms after each response,
-- falls short of RATE: a connection's cycle is that wait plus the response time. In a test run at
-- a 6.1 ms wait, baton (0.75 ms mean response time) got 90% of RATE and the upstream directly 96%:
-- the slower the target, the less load it got, instead of the same RATE for all.
--
-- So instead each delay() call books the next free slot on a timetable with one slot every
-- 1000 / RATE ms, and the connection waits until that slot. A connection still sends about every
-- CONNECTIONS * 1000 / RATE ms (its mean wait is that minus its response time), and together the
-- connections send RATE req/s to every target that answers in time. When all CONNECTIONS are
-- waiting for responses, slots pass with nobody to send them and are not made up later: a target
-- that cannot keep up gets less than RATE, and run.mjs flags it.
--
-- What else follows from wrk's source (4.1.0):
--  - The latency wrk records starts when the request is written, after the wait.
--  - A connection sends nothing while its request is out, so a stalling target receives fewer
--    requests rather than a queue of them (there is no coordinated-omission correction as in wrk2):
--    its tail is understated.
--  - wrk's timers count whole milliseconds, and every timer due in the same millisecond fires in
--    the same event-loop pass: requests leave in groups of about RATE / 1000 once per millisecond,
--    for every target alike.
--  - Each connection sends its first request as soon as it connects (delay() is only asked after a
--    response), so a run starts with CONNECTIONS requests at once.

local ffi = require("ffi")
-- clock_gettime(CLOCK_MONOTONIC): plain Lua has no sub-second clock. x86-64 and arm64 Linux
-- struct timespec is two longs.
ffi.cdef([[
  typedef struct { long tv_sec; long tv_nsec; } fixed_rate_timespec;
  int clock_gettime(int clock_id, fixed_rate_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("fixed_rate_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

local slot_ms -- ms between two sends, all connections of this wrk thread together
local next_slot -- the last slot booked, in now_ms() time

function init(args)
  -- args[0] is the URL; what follows "--" on wrk's command line starts at args[1].
  local rate = tonumber(args[1])
  if rate == nil or rate <= 0 then
    error("usage: wrk ... -s fixed-rate.lua URL -- RATE (requests per second, > 0)")
  end
  slot_ms = 1000 / rate
  next_slot = now_ms()
end

function delay()
  local now = now_ms()
  -- The next slot, but never one in the past: slots missed because every connection was busy are
  -- lost, not sent later in a burst.
  next_slot = math.max(next_slot + slot_ms, now)
  -- wrk drops the fraction of the returned milliseconds; round to the nearest instead.
  return math.floor(next_slot - now + 0.5)
end

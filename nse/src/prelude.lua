-- prtip's NSE glue, run once per VM with (nmap, native): the parts of
-- nmap's `nmap` module that are plainest in Lua, on top of the Rust
-- functions in `native`. Written for prtip against the documented NSE API.
local nmap, native = ...
local error, type, select, setmetatable, tostring, ipairs, pairs, getmetatable =
  error, type, select, setmetatable, tostring, ipairs, pairs, getmetatable
local running = coroutine.running

nmap.registry = {args = {}}
nmap.socket = {sleep = native.sleep}

-- try(status, ...) returns ... when status is true; otherwise it runs the
-- handler and ends the script with an error NSE treats as a clean exit.
function nmap.new_try(handler)
  return function(ok, ...)
    if ok then return ... end
    if handler then handler() end
    error({errtype = "nmap.new_try", message = (...)}, 0)
  end
end

-- Scripts run one at a time on the VM (each yields only to Rust, and
-- stdnse.new_thread is not supported yet), so no other thread can hold a
-- mutex or signal a condvar while a script runs: a lock is always granted,
-- the driver releases every mutex when a script ends (as nmap does when a
-- thread dies), and a condvar wait, which could never be signalled, is an
-- error instead of a hang.
local mutexes = setmetatable({}, {__mode = "k"})
local held = {}
function nmap.mutex(object)
  local m = mutexes[object]
  if m then return m end
  m = function(op)
    if op == "lock" or op == "trylock" then
      held[m] = running()
      return true
    elseif op == "done" then
      held[m] = nil
      return true
    elseif op == "running" then
      return held[m]
    end
    error("bad mutex operation: " .. tostring(op), 2)
  end
  mutexes[object] = m
  return m
end

function native.release_mutexes() held = {} end

function nmap.condvar(object)
  return function(op)
    if op == "wait" then
      error("condvar wait: no other thread could signal it (prtip runs scripts one at a time)", 2)
    end
  end
end

-- Ports of the current host, keyed "proto:number" (set by the driver).
local host_ports = {}
function native.set_host_ports(ports) host_ports = ports end

function nmap.get_port_state(host, port)
  local p = host_ports[(port.protocol or "tcp") .. ":" .. tostring(port.number)]
  return p
end

function nmap.get_ports(host, port, proto, state)
  local list = {}
  for _, p in pairs(host_ports) do
    if p.protocol == proto and (state == nil or p.state == state) then
      list[#list + 1] = p
    end
  end
  table.sort(list, function(a, b) return a.number < b.number end)
  for i, p in ipairs(list) do
    if port == nil then return p end
    if p.number == port.number then return list[i + 1] end
  end
  return nil
end

function nmap.set_port_version(host, port, probestate) return true end
function nmap.set_port_state(host, port, state) return true end
function nmap.port_is_excluded(number, proto) return false end

-- Sockets: a Lua object over the native handle, so receive_buf's buffer
-- lives in Lua where patterns are matched.
local Socket = {}
Socket.__index = Socket

function nmap.new_socket(proto)
  return setmetatable({h = native.socket(), buf = ""}, Socket)
end

local function host_ip(host)
  if type(host) == "table" then return host.ip end
  return host
end

local function port_number(port)
  if type(port) == "table" then return port.number, port.protocol end
  return port
end

function Socket:connect(host, port, proto)
  local number, pproto = port_number(port)
  return native.connect(self.h, host_ip(host), number, proto or pproto or "tcp")
end
function Socket:send(data) return native.send(self.h, data) end
function Socket:receive() return self:take_or(native.recv(self.h, "any", 1)) end
function Socket:receive_bytes(n) return self:take_or(native.recv(self.h, "bytes", n or 1)) end
function Socket:receive_lines(n) return self:take_or(native.recv(self.h, "lines", n or 1)) end
function Socket:set_timeout(ms) native.set_timeout(self.h, ms) end
function Socket:close() self.buf = ""; return native.close(self.h) end
function Socket:get_info() return native.info(self.h) end
function Socket:get_ssl_certificate() return nil, "SSL is not supported by prtip yet" end
function Socket:reconnect_ssl() return native.reconnect_ssl(self.h) end

-- Data left over by receive_buf comes first for the plain receives.
function Socket:take_or(ok, data)
  if self.buf ~= "" then
    local b = self.buf
    self.buf = ""
    if ok then return true, b .. data end
    return true, b
  end
  return ok, data
end

function Socket:receive_buf(delimiter, keeppattern)
  while true do
    local s, e
    if type(delimiter) == "function" then
      s, e = delimiter(self.buf)
    else
      s, e = string.find(self.buf, delimiter)
    end
    if s and e then
      local cut = keeppattern and e or s - 1
      local out = string.sub(self.buf, 1, cut)
      self.buf = string.sub(self.buf, e + 1)
      return true, out
    end
    local ok, data = native.recv(self.h, "any", 1)
    if not ok then return false, data end
    self.buf = self.buf .. data
  end
end

-- Script output as data for Rust: {kind, key, value | children}, integer
-- keys first, then string keys in pairs() order (which honours __pairs,
-- as stdnse.output_table's insertion order needs).
local function tree(obj, key)
  if type(obj) == "table" then
    local mt = getmetatable(obj)
    if not (mt and mt.__tostring) then
      local children = {}
      for _, v in ipairs(obj) do children[#children + 1] = tree(v) end
      for k, v in pairs(obj) do
        if type(k) == "string" then children[#children + 1] = tree(v, k) end
      end
      return {table = true, key = key, children = children}
    end
  end
  return {table = false, key = key, value = tostring(obj)}
end
native.tree = tree

-- nmap's text form of a table result: each level indented two more spaces,
-- "key: value" for string keys.
local function format_table(obj, indent)
  if type(obj) ~= "table" then return tostring(obj) end
  local mt = getmetatable(obj)
  if mt and mt.__tostring then return tostring(obj) end
  local parts = {}
  local function line(prefix, v)
    parts[#parts + 1] = "\n" .. indent .. prefix .. format_table(v, indent .. "  ")
  end
  for _, v in ipairs(obj) do line("", v) end
  for k, v in pairs(obj) do
    if type(k) == "string" then line(k .. ": ", v) end
  end
  return table.concat(parts)
end
native.format_table = function(obj) return format_table(obj, "  ") end

-- Runs a script's action protected: ("ok", r1, r2), ("try", message) for
-- nmap.new_try's clean exit, or ("error", message).
function native.run_action(action, ...)
  local ok, r1, r2 = pcall(action, ...)
  if ok then return "ok", r1, r2 end
  if type(r1) == "table" and r1.errtype == "nmap.new_try" then
    return "try", tostring(r1.message)
  end
  return "error", tostring(r1)
end

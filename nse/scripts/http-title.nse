-- prtip's own http-title, for machines without nmap's scripts: the title
-- of the page at "/", in nmap's words when there is none. Plain HTTP only.
description = [[Shows the title of the default page of a web server.]]
author = "prtip"
license = "MIT OR Apache-2.0"
categories = {"default", "discovery", "safe"}

local nmap = require "nmap"

local HTTP_PORTS = {
  [80] = true, [631] = true, [3872] = true, [5800] = true, [7080] = true,
  [8000] = true, [8080] = true, [8088] = true, [8180] = true,
}
local HTTP_NAMES = {["http"] = true, ["http-alt"] = true, ["http-proxy"] = true}

portrule = function(host, port)
  if port.protocol ~= "tcp" or port.state ~= "open" then
    return false
  end
  if port.version and port.version.service_tunnel == "ssl" then
    return false
  end
  return HTTP_PORTS[port.number] ~= nil or HTTP_NAMES[port.service or ""] ~= nil
end

-- Reads until the server closes (Connection: close) or 1 MiB arrived.
local function fetch(host, port)
  local socket = nmap.new_socket()
  socket:set_timeout(10000)
  if not socket:connect(host, port) then
    return nil
  end
  local request = "GET / HTTP/1.1\r\nHost: " .. host.ip ..
    "\r\nConnection: close\r\nUser-Agent: prtip\r\n\r\n"
  if not socket:send(request) then
    socket:close()
    return nil
  end
  local parts, size = {}, 0
  while size < 1048576 do
    local ok, data = socket:receive()
    if not ok then
      break
    end
    parts[#parts + 1] = data
    size = size + #data
  end
  socket:close()
  return table.concat(parts)
end

-- Header `name` (lower case) of a response head, or nil.
local function header(head, name)
  for line in head:gmatch("[^\r\n]+") do
    local k, v = line:match("^([^:]+):[ \t]*(.-)[ \t]*$")
    if k and k:lower() == name then
      return v
    end
  end
  return nil
end

-- The title as shown: line breaks and tabs dropped, long ones cut to 65
-- characters with "..." as the last three.
local function shown(title)
  local t = title:gsub("[\r\n\t]", "")
  if #t > 65 then
    t = t:sub(1, 62) .. "..."
  end
  return t
end

action = function(host, port)
  local response = fetch(host, port)
  if not response then
    return nil
  end
  local head, body = response:match("^(.-)\r?\n\r?\n(.*)$")
  if not head then
    return nil
  end
  local status = head:match("^HTTP/%d%.%d (%d%d%d)")
  local location = header(head, "location")
  if location and status and status:match("^30%d$") then
    return {redirect_url = location}, "Did not follow redirect to " .. location
  end
  local title = body:match("<[Tt][Ii][Tt][Ll][Ee][^>]*>([^<]*)</[Tt][Ii][Tt][Ll][Ee]>")
  local result = {title = title}
  if title and title ~= "" then
    return result, shown(title)
  end
  local ctype = header(head, "content-type")
  if ctype then
    return result, "Site doesn't have a title (" .. ctype .. ")."
  end
  return result, "Site doesn't have a title."
end

-- prtip's own banner script, for machines without nmap's scripts: what a
-- TCP service says first, on one line, unprintable bytes as \xHH.
description = [[Prints the first data a TCP service sends after the connection opens.]]
author = "prtip"
license = "MIT OR Apache-2.0"
categories = {"discovery", "safe"}

local nmap = require "nmap"

portrule = function(host, port)
  return port.protocol == "tcp" and port.state == "open"
end

local function printable(data)
  return (data:gsub("[^\32-\126]", function(c)
    return string.format("\\x%02X", c:byte())
  end))
end

action = function(host, port)
  local socket = nmap.new_socket()
  socket:set_timeout(5000)
  if not socket:connect(host, port) then
    return nil
  end
  local ok, data = socket:receive()
  socket:close()
  if not ok then
    return nil
  end
  data = data:gsub("[\r\n]+$", "")
  if data == "" then
    return nil
  end
  return printable(data)
end

#pragma once
// The one place with the namespace aliases. Only transport/ and server code include this:
// protocol/, rooms/ and ws/ headers stay free of Asio and Beast so their tests compile fast.

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace roomcast {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;
}  // namespace roomcast

#pragma once
// Sends exact bytes to the server and reads the reply until the server closes or a deadline:
// for requests a well-behaved client library would refuse to send.

#include <boost/asio.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace roomcast::test {

/** The reply to `request` (everything read until EOF or the deadline). */
inline std::string raw_exchange(std::uint16_t port, std::string const& request,
                                std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
    namespace net = boost::asio;
    using tcp = net::ip::tcp;
    net::io_context ioc;
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    net::write(s, net::buffer(request));
    std::string out;
    char buf[4096];
    std::function<void()> read_more = [&] {
        s.async_read_some(net::buffer(buf), [&](boost::system::error_code ec, std::size_t n) {
            out.append(buf, n);
            if (!ec) read_more();
        });
    };
    read_more();
    ioc.run_for(deadline);
    return out;
}

/** The status code of the first response in `reply`, or 0. */
inline int status_of(std::string const& reply) {
    if (reply.rfind("HTTP/1.", 0) != 0 || reply.size() < 12) return 0;
    return std::stoi(reply.substr(9, 3));
}

/** Body of the first response (after the blank line). */
inline std::string body_of(std::string const& reply) {
    auto p = reply.find("\r\n\r\n");
    return p == std::string::npos ? std::string() : reply.substr(p + 4);
}

/** One sample of /metrics, e.g. metric(port, "roomcast_joins_refused_total"); -1 if absent. */
inline double metric(std::uint16_t port, std::string const& name) {
    auto const text = body_of(raw_exchange(
        port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
    auto const at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + name.size() + 2));
}

}  // namespace roomcast::test

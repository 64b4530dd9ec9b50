#include "roomcast/healthcheck.hpp"

#include <roomcast/net.hpp>

#include <iostream>

namespace roomcast {

int run_healthcheck(config const& cfg) {
    net::io_context ioc;
    error_code ec;
    auto addr = net::ip::make_address(cfg.host, ec);
    if (ec || addr.is_unspecified())
        addr = addr.is_v6() ? net::ip::address(net::ip::address_v6::loopback())
                            : net::ip::address(net::ip::address_v4::loopback());
    beast::tcp_stream stream(ioc);
    http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, "localhost");
    req.set(http::field::connection, "close");
    http::response<http::string_body> res;
    beast::flat_buffer buf;
    int status = 0;
    // One deadline for the whole exchange.
    stream.expires_after(std::chrono::seconds(3));
    stream.async_connect(tcp::endpoint(addr, cfg.port), [&](error_code e) {
        if (e) return void(ec = e);
        http::async_write(stream, req, [&](error_code e2, std::size_t) {
            if (e2) return void(ec = e2);
            http::async_read(stream, buf, res, [&](error_code e3, std::size_t) {
                if (e3) return void(ec = e3);
                status = res.result_int();
            });
        });
    });
    ioc.run();
    if (status == 200) return 0;
    std::cerr << "roomcast: healthcheck of " << addr.to_string() << ":" << cfg.port
              << " failed: " << (ec ? ec.message() : "status " + std::to_string(status)) << "\n";
    return 1;
}

}  // namespace roomcast

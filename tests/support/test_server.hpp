#pragma once

#include <roomcast/config.hpp>
#include <roomcast/log.hpp>
#include <roomcast/server.hpp>

#include <gtest/gtest.h>

#include <memory>

namespace roomcast::test {

/** The configuration every integration test starts from: loopback, port 0, quiet logs. */
inline config test_config() {
    config c;
    c.host = "127.0.0.1";
    c.port = 0;
    c.threads = 2;
    c.web_root = ROOMCAST_TEST_WEB_ROOT;
    c.log_level = "warn";
    return c;
}

/** Owns a started server; shuts it down gracefully (bounded) at the end of the test. */
class running_server {
  public:
    explicit running_server(config c = test_config()) {
        init_logging(c);
        srv_ = std::make_unique<server>(c);
        if (auto err = srv_->start()) throw std::runtime_error("server start: " + *err);
    }
    ~running_server() {
        srv_->shutdown();
        srv_->wait();
    }
    std::uint16_t port() const { return srv_->port(); }
    server& get() { return *srv_; }

  private:
    std::unique_ptr<server> srv_;
};

}  // namespace roomcast::test

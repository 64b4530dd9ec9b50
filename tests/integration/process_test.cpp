// The real binary as a child process: command line, exit codes, SIGTERM.
#include "support/child_process.hpp"
#include "support/ws_client.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <unistd.h>

using namespace roomcast::test;

namespace {

std::string const listening = "listening on http://127.0.0.1:";

}  // namespace

TEST(Process, HelpListsEveryVariableAndExitsZero) {
    child c({"--help"});
    EXPECT_EQ(c.wait_exit(), 0);
    auto out = c.drain_stdout();
    for (char const* v :
         {"PORT", "HOST", "ROOMCAST_WEB_ROOT", "ROOMCAST_MAX_MESSAGE_BYTES", "ROOMCAST_THREADS",
          "ROOMCAST_LOG_LEVEL", "ROOMCAST_LOG_FORMAT", "ROOMCAST_MAX_ROOM_MEMBERS",
          "ROOMCAST_MAX_CONNECTIONS", "ROOMCAST_MAX_CONNECTIONS_PER_IP", "ROOMCAST_SEND_HIGH_WATER",
          "ROOMCAST_SEND_MAX_BYTES", "ROOMCAST_SEND_TIMEOUT", "ROOMCAST_PING_INTERVAL",
          "ROOMCAST_PING_TIMEOUT", "ROOMCAST_SHUTDOWN_TIMEOUT"})
        EXPECT_NE(out.find(v), std::string::npos) << v;
}

TEST(Process, VersionExitsZero) {
    child c({"--version"});
    EXPECT_EQ(c.wait_exit(), 0);
    EXPECT_EQ(c.drain_stdout().rfind("roomcast ", 0), 0u);
}

TEST(Process, BadValuesExitTwoWithAClearMessage) {
    {
        child c({"--port", "70000"});
        EXPECT_EQ(c.wait_exit(), 2);
        EXPECT_NE(c.drain_stderr().find("--port"), std::string::npos);
    }
    {
        child c({}, {"ROOMCAST_MAX_MESSAGE_BYTES=lots"});
        EXPECT_EQ(c.wait_exit(), 2);
        EXPECT_NE(c.drain_stderr().find("ROOMCAST_MAX_MESSAGE_BYTES"), std::string::npos);
    }
    {
        child c({"--no-such-flag"});
        EXPECT_EQ(c.wait_exit(), 2);
        EXPECT_NE(c.drain_stderr().find("--no-such-flag"), std::string::npos);
    }
}

TEST(Process, SigtermClosesWebSocketsWith1001AndExitsZero) {
    child c({"--host", "127.0.0.1", "--port", "0", "--log-level", "info"},
            {"ROOMCAST_WEB_ROOT=" ROOMCAST_TEST_WEB_ROOT});
    auto m = c.wait_for(listening);
    ASSERT_TRUE(m) << c.drain_stderr();
    auto const port = static_cast<std::uint16_t>(std::stoi(*m));  // digits up to the '/'

    ws_client a(port), b(port);
    ASSERT_EQ(a.join("shutdown")["type"], "joined");
    ASSERT_EQ(b.join("shutdown")["type"], "joined");
    ASSERT_EQ(kill(c.pid(), SIGTERM), 0);

    for (auto* cl : {&a, &b}) {
        ws_message r;
        for (int i = 0; i < 10 && !r.ec; ++i)
            r = cl->read(10s);  // skip presence messages
        EXPECT_EQ(r.ec, websocket::error::closed) << r.ec.message();
        EXPECT_EQ(cl->close_reason().code, 1001);
    }
    EXPECT_EQ(c.wait_exit(), 0);
}

TEST(Process, JsonLogLinesAreJson) {
    child c({"--host", "127.0.0.1", "--port", "0", "--log-format", "json"},
            {"ROOMCAST_WEB_ROOT=" ROOMCAST_TEST_WEB_ROOT});
    auto m = c.wait_for("listening on");
    ASSERT_TRUE(m);
    auto j = nlohmann::json::parse(c.line(), nullptr, false);
    ASSERT_TRUE(j.is_object()) << c.line();
    EXPECT_EQ(j["level"], "info");
    EXPECT_NE(j["msg"].get<std::string>().find("listening on"), std::string::npos);
    kill(c.pid(), SIGINT);
    EXPECT_EQ(c.wait_exit(), 0);
}

TEST(Process, HealthcheckProbesARunningServer) {
    child server({"--host", "127.0.0.1", "--port", "0"},
                 {"ROOMCAST_WEB_ROOT=" ROOMCAST_TEST_WEB_ROOT});
    auto m = server.wait_for(listening);
    ASSERT_TRUE(m);
    auto const port = std::to_string(std::stoi(*m));
    child ok({"--healthcheck", "--port", port});
    EXPECT_EQ(ok.wait_exit(), 0);
    kill(server.pid(), SIGTERM);
    EXPECT_EQ(server.wait_exit(), 0);
    child gone({"--healthcheck", "--port", port});
    EXPECT_EQ(gone.wait_exit(), 1);
    EXPECT_NE(gone.drain_stderr().find("healthcheck"), std::string::npos);
}

// A signal handler that re-armed its wait off the shutdown strand could race the final cancel
// and keep the process alive forever (about 1 run in 15). Many quick runs catch a regression.
TEST(Process, SigtermAlwaysExitsEvenWithNoConnections) {
    for (int i = 0; i < 15; ++i) {
        child c({"--host", "127.0.0.1", "--port", "0", "--log-level", "info"},
                {"ROOMCAST_WEB_ROOT=" ROOMCAST_TEST_WEB_ROOT});
        ASSERT_TRUE(c.wait_for(listening)) << "run " << i;
        ASSERT_EQ(kill(c.pid(), SIGTERM), 0);
        ASSERT_EQ(c.wait_exit(10s), 0) << "run " << i << " did not exit after SIGTERM";
    }
}

// The real binary as a child process: command line, exit codes, SIGTERM.
#include "support/ws_client.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace roomcast::test;

namespace {

/** A child roomcast with its stderr (the log) on a pipe. Killed if the test forgets it. */
class child {
  public:
    explicit child(std::vector<std::string> args, std::vector<std::string> env = {}) {
        int out[2], err[2];
        if (pipe(out) != 0 || pipe(err) != 0) throw std::runtime_error("pipe");
        pid_ = fork();
        if (pid_ == 0) {
            dup2(out[1], 1);
            dup2(err[1], 2);
            close(out[0]);
            close(err[0]);
            std::vector<char*> argv{const_cast<char*>(ROOMCAST_BINARY)};
            for (auto& a : args)
                argv.push_back(a.data());
            argv.push_back(nullptr);
            for (auto& e : env)
                putenv(e.data());
            execv(ROOMCAST_BINARY, argv.data());
            _exit(127);
        }
        close(out[1]);
        close(err[1]);
        out_ = out[0];
        err_ = err[0];
    }
    ~child() {
        if (pid_ > 0 && !reaped_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        close(out_);
        close(err_);
    }

    /** Reads stderr until a line contains `needle`; returns what follows it on that line,
     * or nullopt when the deadline passes first. */
    std::optional<std::string> wait_for(std::string const& needle,
                                        std::chrono::milliseconds deadline = 10s) {
        auto const end = std::chrono::steady_clock::now() + deadline;
        for (;;) {
            std::size_t nl;
            while ((nl = buf_.find('\n')) != std::string::npos) {
                line_ = buf_.substr(0, nl);
                buf_.erase(0, nl + 1);
                if (auto p = line_.find(needle); p != std::string::npos)
                    return line_.substr(p + needle.size());
            }
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                end - std::chrono::steady_clock::now());
            if (left.count() <= 0) return std::nullopt;
            pollfd p{err_, POLLIN, 0};
            if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
            char tmp[4096];
            auto n = read(err_, tmp, sizeof tmp);
            if (n <= 0) return std::nullopt;
            buf_.append(tmp, static_cast<std::size_t>(n));
        }
    }

    /** Exit status, or -1 if it did not exit before the deadline. */
    int wait_exit(std::chrono::milliseconds deadline = 10s) {
        auto const end = std::chrono::steady_clock::now() + deadline;
        while (std::chrono::steady_clock::now() < end) {
            int st = 0;
            pid_t r = waitpid(pid_, &st, WNOHANG);
            if (r == pid_) {
                reaped_ = true;
                return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            }
            poll(nullptr, 0, 20);
        }
        return -1;
    }

    std::string drain_stdout() {
        std::string s;
        char tmp[4096];
        ssize_t n;
        while ((n = read(out_, tmp, sizeof tmp)) > 0)
            s.append(tmp, static_cast<std::size_t>(n));
        return s;
    }
    std::string drain_stderr() {
        std::string s = buf_;
        char tmp[4096];
        ssize_t n;
        while ((n = read(err_, tmp, sizeof tmp)) > 0)
            s.append(tmp, static_cast<std::size_t>(n));
        return s;
    }
    pid_t pid() const { return pid_; }
    std::string const& line() const { return line_; }

  private:
    pid_t pid_ = -1;
    int out_ = -1, err_ = -1;
    bool reaped_ = false;
    std::string buf_, line_;
};

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

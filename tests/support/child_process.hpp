#pragma once
// The real roomcast binary as a child process, its log (stderr) on a pipe: for the command
// line, exit codes and signals, and for what only a separate process shows (its RSS).

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace roomcast::test {

using namespace std::chrono_literals;

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
    int stderr_fd() const { return err_; }
    /** Reads what stderr holds now, without waiting, into what drain_stderr() returns: a
     * chatty child must not fill the pipe and block in its logger while the test talks to it. */
    void collect() {
        char tmp[4096];
        pollfd p{err_, POLLIN, 0};
        while (poll(&p, 1, 0) > 0 && (p.revents & POLLIN)) {
            auto n = read(err_, tmp, sizeof tmp);
            if (n <= 0) return;
            buf_.append(tmp, static_cast<std::size_t>(n));
        }
    }
    std::string const& line() const { return line_; }

  private:
    pid_t pid_ = -1;
    int out_ = -1, err_ = -1;
    bool reaped_ = false;
    std::string buf_, line_;
};

/** Resident set size of process `pid`, in bytes (VmRSS), or 0 if it cannot be read. */
inline std::size_t rss_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string key;
    while (in >> key) {
        if (key == "VmRSS:") {
            std::size_t kib = 0;
            in >> kib;
            return kib * 1024;
        }
        std::string rest;
        std::getline(in, rest);
    }
    return 0;
}

/** A roomcast on 127.0.0.1 and a free port, started with `args`; port() once it listens. */
class child_server {
  public:
    explicit child_server(std::vector<std::string> args, std::vector<std::string> env = {})
        : proc_(with_defaults(std::move(args)), with_sanitizer_env(std::move(env))) {
        auto rest = proc_.wait_for("listening on http://127.0.0.1:");
        if (!rest) throw std::runtime_error("child server did not start: " + proc_.drain_stderr());
        port_ = static_cast<std::uint16_t>(std::stoi(*rest));
        // Keep reading the log, so a chatty server never blocks on a full pipe.
        drain_ = std::thread([this] {
            char tmp[4096];
            ssize_t n;
            while ((n = read(proc_.stderr_fd(), tmp, sizeof tmp)) > 0) {
                std::lock_guard lock(mutex_);
                log_.append(tmp, static_cast<std::size_t>(n));
            }
        });
    }
    ~child_server() {
        kill(proc_.pid(), SIGTERM);
        exit_status_ = proc_.wait_exit(10s);
        if (exit_status_ < 0) kill(proc_.pid(), SIGKILL);
        if (drain_.joinable()) drain_.join();  // EOF once the child is gone
    }
    std::uint16_t port() const { return port_; }
    /** Everything the server logged since it started listening. */
    std::string log() const {
        std::lock_guard lock(mutex_);
        return log_;
    }
    std::size_t rss() const { return rss_of(proc_.pid()); }
    child& process() { return proc_; }

  private:
    // Under ASan, freed memory waits in a quarantine (256 MiB by default) before it is reused,
    // so RSS would measure the quarantine, not the server: a small one keeps RSS meaningful
    // (use-after-free is still caught within it).
    static std::vector<std::string> with_sanitizer_env(std::vector<std::string> env) {
        std::string asan = "ASAN_OPTIONS=quarantine_size_mb=8";
        if (char const* cur = std::getenv("ASAN_OPTIONS")) asan += std::string(":") + cur;
        env.push_back(asan);
        return env;
    }
    static std::vector<std::string> with_defaults(std::vector<std::string> args) {
        std::vector<std::string> all = {"--host", "127.0.0.1",   "--port",
                                        "0",      "--log-level", "info"};
        all.insert(all.end(), args.begin(), args.end());
        return all;
    }
    child proc_;
    std::uint16_t port_ = 0;
    std::thread drain_;
    mutable std::mutex mutex_;
    std::string log_;
    int exit_status_ = -1;
};

}  // namespace roomcast::test

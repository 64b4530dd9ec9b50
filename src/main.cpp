// roomcast: load the configuration, start the server, wait for a signal.
#include <roomcast/config.hpp>
#include <roomcast/healthcheck.hpp>
#include <roomcast/log.hpp>
#include <roomcast/server.hpp>

#include <cstdio>
#include <iostream>

extern char** environ;

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    // --healthcheck probes a running server (same PORT/HOST settings) instead of starting one.
    bool const healthcheck = std::erase(args, std::string("--healthcheck")) > 0;
    std::map<std::string, std::string> env;
    for (char** e = environ; e && *e; ++e) {
        std::string kv(*e);
        if (auto eq = kv.find('='); eq != std::string::npos)
            env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
    }

    auto parsed = roomcast::parse_config(args, env);
    if (auto* ex = std::get_if<roomcast::config_exit>(&parsed)) {
        std::cout << ex->text;
        return 0;
    }
    if (auto* err = std::get_if<roomcast::config_error>(&parsed)) {
        std::cerr << "roomcast: " << err->message << "\n";
        return 2;
    }
    auto const& cfg = std::get<roomcast::config_run>(parsed).cfg;
    if (healthcheck) return roomcast::run_healthcheck(cfg);

    try {
        roomcast::init_logging(cfg);
        roomcast::server srv(cfg);
        srv.handle_signals();  // before the threads start, so no signal is missed
        if (auto err = srv.start()) {
            spdlog::critical("{}", *err);
            return 1;
        }
        srv.wait();
        spdlog::info("stopped");
        return 0;
    } catch (std::exception const& e) {
        std::cerr << "roomcast: fatal: " << e.what() << "\n";
        return 1;
    }
}

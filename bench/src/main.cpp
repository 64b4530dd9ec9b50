// roomcast-bench: runs one scenario against one server on loopback and prints one result as a
// human-readable row and a JSON line. bench/run drives it over systems, scenarios and rounds.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "config.hpp"
#include "proc.hpp"
#include "worker.hpp"

namespace {

using namespace rcb;

void sleep_until_ns(std::uint64_t t) {
    std::uint64_t const now = now_ns();
    if (t > now) std::this_thread::sleep_for(std::chrono::nanoseconds(t - now));
}

std::uint64_t seconds_ns(double s) {
    return static_cast<std::uint64_t>(s * 1e9);
}

/// Raises the soft descriptor limit to the hard one; returns the soft limit in force.
std::uint64_t raise_fd_limit() {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
        ::getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

struct percentiles {
    double p50 = 0, p99 = 0, max = 0;
    std::size_t samples = 0;
};

percentiles latency_us(std::vector<std::uint64_t>& v) {
    percentiles p;
    p.samples = v.size();
    if (v.empty()) return p;
    auto at = [&](double q) {
        auto const k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
        std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
        return static_cast<double>(v[k]) / 1000.0;
    };
    p.p50 = at(0.50);
    p.p99 = at(0.99);
    p.max = static_cast<double>(*std::max_element(v.begin(), v.end())) / 1000.0;
    return p;
}

/// Who ran out of CPU. Each generator thread is one event loop, and so is a Node server; a
/// thread at >= 90 % is saturated. When neither is but the machine is full, the two share it.
std::string saturated(cpu_usage const& srv, cpu_usage const& gen, double machine, unsigned cores) {
    bool const gen_sat = gen.max_thread_pct >= 90.0;
    bool const srv_sat = srv.max_thread_pct >= 90.0 || srv.total_pct >= 90.0 * cores;
    if (gen_sat && srv_sat) return "both";
    if (srv_sat) return "server";
    if (gen_sat) return "generator";
    if (std::max(machine, srv.total_pct + gen.total_pct) >= 90.0 * cores) return "machine";
    return "none";
}

double round2(double v) {
    return static_cast<double>(static_cast<long long>(v * 100 + (v < 0 ? -0.5 : 0.5))) / 100;
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    config cfg;
    try {
        cfg = parse_args(argc, argv);
    } catch (std::exception const& e) {
        std::fprintf(stderr, "roomcast-bench: %s\n", e.what());
        return 2;
    }
    // A hard bound on time whatever happens below: the default SIGALRM action ends the process.
    ::alarm(static_cast<unsigned>(cfg.max_runtime_s) + 30);
    std::uint64_t const t_begin = now_ns();
    std::uint64_t const max_end = t_begin + seconds_ns(cfg.max_runtime_s);

    std::uint64_t const fd_limit = raise_fd_limit();
    std::uint64_t const total_conns = static_cast<std::uint64_t>(cfg.rooms) * cfg.room_size;
    if (fd_limit < total_conns + 64) {
        std::fprintf(stderr,
                     "roomcast-bench: open-file limit %llu is below the %llu connections needed\n",
                     static_cast<unsigned long long>(fd_limit),
                     static_cast<unsigned long long>(total_conns));
        return 2;
    }
    unsigned const cores = std::max(1u, std::thread::hardware_concurrency());

    run_control ctl;
    ctl.run_id = static_cast<std::uint32_t>(std::random_device{}());
    std::uint64_t rss_start = rss_kib(cfg.server_pid);

    // Split the rooms over the worker threads.
    std::vector<std::unique_ptr<worker>> workers;
    std::uint32_t const total_senders = cfg.rooms * cfg.senders;
    for (unsigned t = 0; t < cfg.threads; ++t) {
        layout lay;
        lay.index = t;
        lay.first_room =
            static_cast<std::uint32_t>(static_cast<std::uint64_t>(cfg.rooms) * t / cfg.threads);
        std::uint32_t const end_room = static_cast<std::uint32_t>(
            static_cast<std::uint64_t>(cfg.rooms) * (t + 1) / cfg.threads);
        lay.rooms = end_room - lay.first_room;
        lay.first_id = lay.first_room * cfg.room_size;
        lay.max_messages = cfg.max_messages / cfg.threads;
        if (cfg.rate > 0 && total_senders > 0) {
            lay.rate = cfg.rate * lay.rooms * cfg.senders / total_senders;
            lay.phase_offset = static_cast<double>(t) / cfg.threads;
        }
        workers.push_back(std::make_unique<worker>(cfg, ctl, lay));
    }
    std::vector<std::thread> threads;
    for (auto& w : workers)
        threads.emplace_back([&w] { w->run(); });

    auto all = [&](auto pred) {
        return std::all_of(workers.begin(), workers.end(), [&](auto const& w) { return pred(*w); });
    };
    auto any_failed = [&] {
        return std::any_of(workers.begin(), workers.end(),
                           [](auto const& w) { return w->failed.load(); });
    };
    auto wait_for = [&](auto pred, std::uint64_t deadline) {
        while (!pred() && !any_failed() && now_ns() < deadline && now_ns() < max_end) {
            if (cfg.server_pid > 0 && !process_alive(cfg.server_pid)) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        return pred() && !any_failed();
    };

    std::string error;
    bool const set_up = wait_for([&] { return all([](worker& w) { return w.ready.load(); }); },
                                 now_ns() + seconds_ns(cfg.setup_timeout_s));
    double const setup_s = static_cast<double>(now_ns() - t_begin) / 1e9;
    cpu_sample srv_a, srv_b, gen_a, gen_b;
    machine_sample mach_a, mach_b;
    std::uint64_t rss_before = rss_start, rss_after = 0, win_ns = 0;
    std::uint64_t const self = static_cast<std::uint64_t>(::getpid());

    if (!set_up) {
        error = "set-up did not complete";
    } else if (cfg.scen == scenario::idle) {
        // Hold every connection open and joined; measure the server's memory with them.
        sleep_until_ns(now_ns() + seconds_ns(cfg.settle_s));
        rss_after = rss_kib(cfg.server_pid);
        ctl.win_start = now_ns();
        ctl.ph = phase::run;
        srv_a = sample_cpu(cfg.server_pid);
        gen_a = sample_cpu(static_cast<int>(self));
        mach_a = sample_machine();
        sleep_until_ns(now_ns() + seconds_ns(cfg.duration_s));
        srv_b = sample_cpu(cfg.server_pid);
        gen_b = sample_cpu(static_cast<int>(self));
        mach_b = sample_machine();
        ctl.win_end = now_ns();
        ctl.ph = phase::stop;
    } else if (cfg.scen == scenario::churn) {
        // Warm up, let every cycle finish, take RSS; churn for the window; let every cycle
        // finish again, take RSS: the two should match if nothing leaks per connection.
        ctl.ph = phase::run;
        sleep_until_ns(now_ns() + seconds_ns(cfg.warmup_s));
        ctl.ph = phase::pause;
        wait_for([&] { return all([](worker& w) { return w.active.load() == 0; }); },
                 now_ns() + seconds_ns(cfg.drain_s));
        sleep_until_ns(now_ns() + seconds_ns(cfg.settle_s));
        rss_before = rss_kib(cfg.server_pid);
        srv_a = sample_cpu(cfg.server_pid);
        gen_a = sample_cpu(static_cast<int>(self));
        mach_a = sample_machine();
        ctl.win_start = srv_a.wall_ns;
        ctl.win_end = srv_a.wall_ns + seconds_ns(cfg.duration_s);
        ctl.ph = phase::run;
        sleep_until_ns(ctl.win_end);
        srv_b = sample_cpu(cfg.server_pid);
        gen_b = sample_cpu(static_cast<int>(self));
        mach_b = sample_machine();
        ctl.ph = phase::stop;
        wait_for([&] { return all([](worker& w) { return w.drained.load(); }); },
                 now_ns() + seconds_ns(cfg.drain_s));
        sleep_until_ns(now_ns() + seconds_ns(cfg.settle_s));
        rss_after = rss_kib(cfg.server_pid);
    } else {
        std::uint64_t const start = now_ns() + 20'000'000;
        ctl.send_from = start;
        ctl.win_start = start + seconds_ns(cfg.warmup_s);
        ctl.win_end = ctl.win_start + seconds_ns(cfg.duration_s);
        ctl.ph.store(phase::run, std::memory_order_release);
        sleep_until_ns(ctl.win_start);
        srv_a = sample_cpu(cfg.server_pid);
        gen_a = sample_cpu(static_cast<int>(self));
        mach_a = sample_machine();
        sleep_until_ns(ctl.win_end);
        srv_b = sample_cpu(cfg.server_pid);
        gen_b = sample_cpu(static_cast<int>(self));
        mach_b = sample_machine();
        ctl.ph = phase::stop;
        wait_for([&] { return all([](worker& w) { return w.drained.load(); }); },
                 now_ns() + seconds_ns(cfg.drain_s));
        rss_after = rss_kib(cfg.server_pid);
    }
    if (error.empty() && any_failed()) error = "worker failed";
    for (auto& w : workers) {
        if (w->failed.load()) error = w->error;
    }
    if (error.empty() && cfg.server_pid > 0 && !process_alive(cfg.server_pid))
        error = "server exited";
    bool const drained = all([](worker& w) { return w.drained.load(); });
    std::uint32_t open_at_end = 0;
    for (auto& w : workers)
        open_at_end += w->open_conns.load();
    ctl.ph = phase::quit;
    for (auto& t : threads)
        t.join();

    // ---- merge and report
    worker_stats sum;
    for (auto& w : workers) {
        auto const& s = w->stats();
        sum.sent += s.sent;
        sum.expected += s.expected;
        sum.received += s.received;
        sum.duplicated += s.duplicated;
        sum.misrouted += s.misrouted;
        sum.corrupt += s.corrupt;
        sum.unexpected += s.unexpected;
        sum.win_sent += s.win_sent;
        sum.win_deliveries += s.win_deliveries;
        sum.win_bytes += s.win_bytes;
        sum.server_errors += s.server_errors;
        sum.unexpected_closes += s.unexpected_closes;
        sum.cycles += s.cycles;
        sum.win_cycles += s.win_cycles;
        sum.win_started += s.win_started;
        sum.cycle_failures += s.cycle_failures;
        sum.latency_dropped += s.latency_dropped;
        sum.connects += s.connects;
        sum.peak_open += s.peak_open;  // exact with one thread, an upper bound with more
        sum.abrupt_fin += s.abrupt_fin;
        sum.abrupt_rst += s.abrupt_rst;
        sum.abrupt_mid += s.abrupt_mid;
        sum.resume_tried += s.resume_tried;
        sum.resumed += s.resumed;
        sum.latency_ns.insert(sum.latency_ns.end(), s.latency_ns.begin(), s.latency_ns.end());
        if (sum.first_problem.empty()) sum.first_problem = s.first_problem;
    }
    win_ns =
        ctl.win_end.load() > ctl.win_start.load() ? ctl.win_end.load() - ctl.win_start.load() : 0;
    double const secs = win_ns > 0 ? static_cast<double>(win_ns) / 1e9 : 1.0;
    auto const lat = latency_us(sum.latency_ns);
    auto const srv = cpu_between(srv_a, srv_b);
    auto const gen = cpu_between(gen_a, gen_b);
    double const machine = machine_busy_pct(mach_a, mach_b, cores);
    double const other = std::max(0.0, machine - srv.total_pct - gen.total_pct);
    std::uint64_t const lost = sum.expected > sum.received ? sum.expected - sum.received : 0;

    nlohmann::json j;
    j["system"] = cfg.system;
    j["scenario"] = std::string(to_string(cfg.scen));
    j["round"] = cfg.round;
    std::string metric, unit;
    double value = 0;
    bool higher_better = true;
    double const deliveries_per_s = static_cast<double>(sum.win_deliveries) / secs;
    switch (cfg.scen) {
        case scenario::big:
            metric = "throughput";
            unit = "MiB/s";
            value = static_cast<double>(sum.win_bytes) / (1024.0 * 1024.0) / secs;
            break;
        case scenario::pairs:
            metric = "throughput";
            unit = "msg/s";
            value = deliveries_per_s;
            break;
        case scenario::pairs_latency:
            metric = "p99";
            unit = "us";
            value = lat.p99;
            higher_better = false;
            break;
        case scenario::fanout:
            metric = "throughput";
            unit = "deliveries/s";
            value = deliveries_per_s;
            break;
        case scenario::idle:
            metric = "rss_per_conn";
            unit = "bytes";
            value = total_conns > 0 && rss_after > rss_before
                        ? static_cast<double>(rss_after - rss_before) * 1024.0 /
                              static_cast<double>(total_conns)
                        : 0;
            higher_better = false;
            break;
        case scenario::churn:
            metric = "throughput";
            unit = "conn/s";
            value = static_cast<double>(sum.win_cycles) / secs;
            break;
    }
    bool const correct = sum.duplicated == 0 && sum.misrouted == 0 && sum.corrupt == 0 &&
                         lost == 0 && sum.unexpected_closes == 0 && sum.cycle_failures == 0;
    j["ok"] = error.empty() && correct;
    if (!error.empty()) j["error"] = error;
    if (!sum.first_problem.empty()) j["problem"] = sum.first_problem;
    j["metric"] = metric;
    j["value"] = round2(value);
    j["unit"] = unit;
    j["higher_is_better"] = higher_better;
    j["window_s"] = round2(secs);
    j["setup_s"] = round2(setup_s);
    j["deliveries_per_s"] = round2(deliveries_per_s);
    j["sent_per_s"] = round2(static_cast<double>(sum.win_sent) / secs);
    j["mib_per_s"] = round2(static_cast<double>(sum.win_bytes) / (1024.0 * 1024.0) / secs);
    j["latency_us"] = {{"p50", round2(lat.p50)},
                       {"p99", round2(lat.p99)},
                       {"max", round2(lat.max)},
                       {"samples", lat.samples},
                       {"open_loop", cfg.rate > 0}};
    j["sent"] = sum.sent;
    j["expected"] = sum.expected;
    j["received"] = sum.received;
    j["lost"] = lost;
    j["duplicated"] = sum.duplicated;
    j["misrouted"] = sum.misrouted;
    j["corrupt"] = sum.corrupt;
    j["unexpected_frames"] = sum.unexpected;
    j["server_errors"] = sum.server_errors;
    j["unexpected_closes"] = sum.unexpected_closes;
    j["drained"] = drained;
    j["connections"] = total_conns;
    j["open_at_end"] = open_at_end;
    j["server"] = {{"pid", cfg.server_pid},
                   {"cpu_pct", round2(srv.total_pct)},
                   {"max_thread_pct", round2(srv.max_thread_pct)},
                   {"busy_threads", srv.busy_threads},
                   {"threads", srv.threads},
                   {"rss_kib", rss_after}};
    j["generator"] = {{"cpu_pct", round2(gen.total_pct)},
                      {"max_thread_pct", round2(gen.max_thread_pct)},
                      {"threads", cfg.threads}};
    j["saturated"] = srv_a.ok && srv_b.ok ? saturated(srv, gen, machine, cores) : "unknown";
    // CPU used by everything else on the machine during the window (other builds, daemons):
    // a result with much of it is noisy.
    j["machine_cpu_pct"] = round2(machine);
    j["other_cpu_pct"] = round2(other);
    j["cores"] = cores;
    j["params"] = {{"rooms", cfg.rooms},
                   {"room_size", cfg.room_size},
                   {"senders", cfg.senders},
                   {"window", cfg.window},
                   {"size", cfg.size},
                   {"rate", cfg.rate},
                   {"payload", cfg.payload == payload_mode::binary ? "binary" : "text"},
                   {"source_addrs", cfg.source_addrs}};
    if (cfg.scen == scenario::idle || cfg.scen == scenario::churn) {
        j["rss_before_kib"] = rss_before;
        j["rss_after_kib"] = rss_after;
    }
    if (cfg.scen == scenario::churn) {
        j["cycles"] = sum.cycles;
        j["cycle_failures"] = sum.cycle_failures;
        double const delta_mib =
            (static_cast<double>(rss_after) - static_cast<double>(rss_before)) / 1024.0;
        double const allowed =
            std::max(cfg.rss_tolerance_mib,
                     static_cast<double>(rss_before) / 1024.0 * cfg.rss_tolerance_pct / 100.0);
        j["rss_delta_mib"] = round2(delta_mib);
        j["rss_tolerance_mib"] = round2(allowed);
        j["rss_ok"] = rss_before > 0 && std::abs(delta_mib) <= allowed;
    }
    if (cfg.scen == scenario::churn && (cfg.abrupt_pct > 0 || cfg.cycle_rate > 0)) {
        // Flat keys, so a shell script can pick them out without a JSON parser.
        std::uint64_t const abrupt = sum.abrupt_fin + sum.abrupt_rst;
        j["connects"] = sum.connects;
        j["peak_open"] = sum.peak_open;
        j["started_per_s"] = round2(static_cast<double>(sum.win_started) / secs);
        j["clean_cycles"] = sum.cycles > abrupt ? sum.cycles - abrupt : 0;
        j["abrupt"] = abrupt;
        j["abrupt_fin"] = sum.abrupt_fin;
        j["abrupt_rst"] = sum.abrupt_rst;
        j["abrupt_mid"] = sum.abrupt_mid;
        j["resume_tried"] = sum.resume_tried;
        j["resumed"] = sum.resumed;
        j["params"]["abrupt_pct"] = cfg.abrupt_pct;
        j["params"]["abrupt_mid_pct"] = cfg.abrupt_mid_pct;
        j["params"]["resume_pct"] = cfg.resume_pct;
        j["params"]["cycle_rate"] = cfg.cycle_rate;
    }

    std::string const line = j.dump();
    if (!cfg.json_path.empty()) {
        std::ofstream out(cfg.json_path, std::ios::app);
        out << line << '\n';
    }
    if (!cfg.quiet) {
        std::printf(
            "%-9s %-14s %12.1f %-13s p50 %9.1f us  p99 %9.1f us  max %9.1f us  lost %llu dup %llu "
            "misrouted %llu  server %5.1f%% (max thread %5.1f%%)  gen %5.1f%%  other %5.1f%%  "
            "saturated: %s%s%s\n",
            cfg.system.c_str(), std::string(to_string(cfg.scen)).c_str(), value, unit.c_str(),
            lat.p50, lat.p99, lat.max, static_cast<unsigned long long>(lost),
            static_cast<unsigned long long>(sum.duplicated),
            static_cast<unsigned long long>(sum.misrouted), srv.total_pct, srv.max_thread_pct,
            gen.total_pct, other, j["saturated"].get<std::string>().c_str(),
            error.empty() ? "" : "  ERROR: ", error.c_str());
    }
    std::printf("%s\n", line.c_str());
    return error.empty() ? 0 : 1;
}

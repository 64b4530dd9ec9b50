#include "proc.hpp"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <sstream>

namespace rcb {
namespace {

/// utime + stime from a /proc/.../stat line; the command name may contain spaces and ')'.
bool stat_ticks(std::string const& path, std::uint64_t& ticks, int* threads) {
    std::ifstream in(path);
    std::string line;
    if (!std::getline(in, line)) return false;
    auto const close = line.rfind(')');
    if (close == std::string::npos) return false;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    std::uint64_t utime = 0;
    std::uint64_t stime = 0;
    // Field 3 (state) is the first after ')'; utime and stime are fields 14 and 15,
    // num_threads is field 20.
    for (int i = 3; i <= 20 && rest >> field; ++i) {
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
        if (i == 20 && threads != nullptr) *threads = std::stoi(field);
    }
    ticks = utime + stime;
    return true;
}

}  // namespace

std::uint64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

cpu_sample sample_cpu(int pid) {
    cpu_sample s;
    s.wall_ns = now_ns();
    if (pid <= 0) return s;
    std::string const base = "/proc/" + std::to_string(pid);
    s.ok = stat_ticks(base + "/stat", s.ticks, &s.threads);
    if (DIR* dir = ::opendir((base + "/task").c_str())) {
        while (dirent* e = ::readdir(dir)) {
            if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
            std::uint64_t t = 0;
            if (stat_ticks(base + "/task/" + e->d_name + "/stat", t, nullptr)) {
                s.thread_ticks[std::stoi(e->d_name)] = t;
            }
        }
        ::closedir(dir);
    }
    return s;
}

cpu_usage cpu_between(cpu_sample const& a, cpu_sample const& b) {
    cpu_usage u;
    if (!a.ok || !b.ok || b.wall_ns <= a.wall_ns) return u;
    double const hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
    double const secs = static_cast<double>(b.wall_ns - a.wall_ns) / 1e9;
    auto pct = [&](std::uint64_t ticks) { return static_cast<double>(ticks) / hz / secs * 100.0; };
    u.total_pct = pct(b.ticks >= a.ticks ? b.ticks - a.ticks : 0);
    u.threads = b.threads;
    for (auto const& [tid, t1] : b.thread_ticks) {
        auto const it = a.thread_ticks.find(tid);
        std::uint64_t const t0 = it == a.thread_ticks.end() ? 0 : it->second;
        double const p = pct(t1 >= t0 ? t1 - t0 : 0);
        u.max_thread_pct = std::max(u.max_thread_pct, p);
        if (p >= 10.0) ++u.busy_threads;
    }
    return u;
}

machine_sample sample_machine() {
    machine_sample m;
    std::ifstream in("/proc/stat");
    std::string cpu;
    in >> cpu;
    if (cpu != "cpu") return m;
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    for (int i = 0; i < 8; ++i) {
        std::uint64_t v = 0;
        if (!(in >> v)) break;
        m.total += v;
        if (i == 3 || i == 4) m.idle += v;
    }
    return m;
}

double machine_busy_pct(machine_sample const& a, machine_sample const& b, unsigned cores) {
    if (b.total <= a.total) return 0;
    double const total = static_cast<double>(b.total - a.total);
    double const idle = static_cast<double>(b.idle >= a.idle ? b.idle - a.idle : 0);
    return (total - idle) / total * 100.0 * cores;
}

std::uint64_t rss_kib(int pid) {
    if (pid <= 0) return 0;
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
    }
    return 0;
}

bool process_alive(int pid) {
    return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

}  // namespace rcb

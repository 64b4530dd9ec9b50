// Readings from /proc: CPU time of a process and of each of its threads, and resident memory.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace rcb {

struct cpu_sample {
    std::uint64_t wall_ns = 0;
    std::uint64_t ticks = 0;                    ///< utime + stime of the whole process
    std::map<int, std::uint64_t> thread_ticks;  ///< per thread id
    int threads = 0;
    bool ok = false;
};

struct cpu_usage {
    double total_pct = 0;       ///< 100 = one core busy for the whole interval
    double max_thread_pct = 0;  ///< the busiest single thread
    int busy_threads = 0;       ///< threads above 10 %
    int threads = 0;
};

cpu_sample sample_cpu(int pid);
cpu_usage cpu_between(cpu_sample const& a, cpu_sample const& b);

/// Whole-machine CPU from /proc/stat, to see load from processes other than the two measured.
struct machine_sample {
    std::uint64_t total = 0;
    std::uint64_t idle = 0;  ///< idle + iowait
};
machine_sample sample_machine();
/// Busy share of all cores over the interval, in percent of one core (2 cores: 0..200).
double machine_busy_pct(machine_sample const& a, machine_sample const& b, unsigned cores);

/// VmRSS in KiB, or 0 if the process is gone.
std::uint64_t rss_kib(int pid);

bool process_alive(int pid);

std::uint64_t now_ns();

}  // namespace rcb

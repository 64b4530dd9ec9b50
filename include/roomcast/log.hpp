#pragma once

#include <roomcast/config.hpp>

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace roomcast {

/**
 * Makes the "roomcast" logger the default: stderr, the level and format from the config.
 * With log_format "json" every line is one JSON object {"ts","level","msg"}.
 */
void init_logging(config const& cfg);

/** Escapes s for use inside a JSON string literal (without the quotes). */
std::string json_escape(std::string_view s);

/**
 * A client-supplied string made fit for a log line: printable ASCII stays, every other byte
 * (control, non-ASCII, invalid UTF-8) becomes `\xNN`, and past `max` input bytes it is cut and
 * marked with "...". What a client sends never reaches the log as raw bytes.
 */
std::string printable(std::string_view s, std::size_t max = 120);

/** Refusals of one kind are logged the first time, then every this many times. */
inline constexpr std::uint64_t refusal_log_every = 1000;

struct sampled {
    std::uint64_t count;  // this one included
    bool log;             // the first, or a multiple of `every` later
};

/**
 * Counts one more event in `counter` and says whether to log it: every event is counted, but
 * only the first and then every `every`th is logged, so a client (or many) sending nothing but
 * refused requests cannot flood the log.
 */
inline sampled count_sampled(std::atomic<std::uint64_t>& counter,
                             std::uint64_t every = refusal_log_every) noexcept {
    auto const n = counter.fetch_add(1, std::memory_order_relaxed) + 1;
    return {n, every <= 1 || n % every == 1};
}

}  // namespace roomcast

#include "roomcast/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <chrono>
#include <ctime>
#include <memory>

namespace roomcast {

std::string json_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 8);
    for (unsigned char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20) {
                    static char const hex[] = "0123456789abcdef";
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 15];
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out;
}

std::string printable(std::string_view s, std::size_t max) {
    static char const hex[] = "0123456789abcdef";
    bool const cut = s.size() > max;
    if (cut) s = s.substr(0, max);
    std::string out;
    out.reserve(s.size() + 8);
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    if (cut) out += "...";
    return out;
}

namespace {

// A formatter writing one JSON object per line. spdlog's pattern flags do not escape the
// message, so a peer-supplied string in a log line could otherwise break the JSON.
class json_formatter final : public spdlog::formatter {
  public:
    void format(spdlog::details::log_msg const& msg, spdlog::memory_buf_t& dest) override {
        using namespace std::chrono;
        auto const t = msg.time;
        auto const secs = time_point_cast<seconds>(t);
        auto const ms = duration_cast<milliseconds>(t - secs).count();
        std::time_t tt = system_clock::to_time_t(secs);
        std::tm tm{};
        gmtime_r(&tt, &tm);
        char ts[40];
        std::size_t n = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
        std::string line = "{\"ts\":\"";
        line.append(ts, n);
        char frac[8];
        std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms));
        line += frac;
        line += "\",\"level\":\"";
        auto lv = spdlog::level::to_string_view(msg.level);
        line.append(lv.data(), lv.size());
        line += "\",\"logger\":\"";
        line += json_escape(std::string_view(msg.logger_name.data(), msg.logger_name.size()));
        line += "\",\"msg\":\"";
        line += json_escape(std::string_view(msg.payload.data(), msg.payload.size()));
        line += "\"}\n";
        dest.append(line.data(), line.data() + line.size());
    }
    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<json_formatter>();
    }
};

}  // namespace

void init_logging(config const& cfg) {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto logger = std::make_shared<spdlog::logger>("roomcast", sink);
    if (cfg.log_format == "json")
        logger->set_formatter(std::make_unique<json_formatter>());
    else
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
    logger->set_level(spdlog::level::from_str(cfg.log_level));
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(logger);
}

}  // namespace roomcast

#pragma once

#include <roomcast/config.hpp>

#include <spdlog/spdlog.h>

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

}  // namespace roomcast

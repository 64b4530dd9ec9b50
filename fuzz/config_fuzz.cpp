// libFuzzer: configuration parsing from arbitrary arguments and variables never crashes and
// never accepts a configuration that breaks its own invariants.
#include <roomcast/config.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    // NUL-separated fields; the first byte picks how many become environment variables.
    std::vector<std::string> fields(1);
    for (std::size_t i = 1; i < size; ++i) {
        if (data[i] == 0)
            fields.emplace_back();
        else
            fields.back() += static_cast<char>(data[i]);
    }
    std::size_t const env_count = size ? data[0] % 4 : 0;
    static char const* const names[] = {"PORT", "ROOMCAST_MAX_MESSAGE_BYTES",
                                        "ROOMCAST_SEND_MAX_BYTES", "ROOMCAST_PUBLIC_URL"};
    std::map<std::string, std::string> env;
    for (std::size_t i = 0; i < env_count && i < fields.size(); ++i)
        env[names[i]] = fields[i];
    std::vector<std::string> args(
        fields.begin() + static_cast<std::ptrdiff_t>(std::min(env_count, fields.size())),
        fields.end());
    auto r = roomcast::parse_config(args, env);
    if (auto* run = std::get_if<roomcast::config_run>(&r)) {
        auto const& c = run->cfg;
        if (c.send_high_water_bytes > c.send_max_bytes) std::abort();
        if (c.max_message_bytes > c.send_max_bytes / 2) std::abort();
        (void)roomcast::describe(c);
    }
    return 0;
}

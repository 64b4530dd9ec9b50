#pragma once

#include <string_view>
#include <vector>

namespace roomcast {

/** `s` without leading and trailing spaces and tabs (HTTP's optional whitespace). */
inline std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

/** "a, b,,c " → {"a", "b", "c"}: a comma-separated list, items trimmed, empty ones skipped. */
inline std::vector<std::string_view> split_list(std::string_view list) {
    std::vector<std::string_view> items;
    while (!list.empty()) {
        auto const comma = list.find(',');
        if (auto const item = trim(list.substr(0, comma)); !item.empty()) items.push_back(item);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    }
    return items;
}

}  // namespace roomcast

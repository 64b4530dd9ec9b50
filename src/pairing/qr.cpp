#include "roomcast/pairing/qr.hpp"

#include <qrencode.h>

#include <memory>

namespace roomcast::pairing {

namespace {

struct qr_free {
    void operator()(QRcode* q) const noexcept { QRcode_free(q); }
};
using qr_ptr = std::unique_ptr<QRcode, qr_free>;

qr_ptr encode(std::string_view text) {
    if (text.empty() || text.size() > max_qr_text) return nullptr;
    // encodeData takes any bytes (NUL included); version 0 picks the smallest that fits.
    return qr_ptr(QRcode_encodeData(static_cast<int>(text.size()),
                                    reinterpret_cast<unsigned char const*>(text.data()), 0,
                                    QR_ECLEVEL_M));
}

constexpr int quiet = 4;

}  // namespace

std::optional<std::string> qr_svg(std::string_view text) {
    auto q = encode(text);
    if (!q) return std::nullopt;
    int const w = q->width;
    int const size = w + 2 * quiet;
    std::string svg;
    svg.reserve(static_cast<std::size_t>(w * w) * 8 + 256);
    svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + std::to_string(size) + " " +
           std::to_string(size) +
           "\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code\">"
           "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path fill=\"#000\" d=\"";
    // One path: a horizontal run of dark modules becomes one rectangle.
    for (int y = 0; y < w; ++y) {
        int x = 0;
        while (x < w) {
            if (!(q->data[y * w + x] & 1)) {
                ++x;
                continue;
            }
            int run = 1;
            while (x + run < w && (q->data[y * w + x + run] & 1))
                ++run;
            svg += "M" + std::to_string(x + quiet) + " " + std::to_string(y + quiet) + "h" +
                   std::to_string(run) + "v1h-" + std::to_string(run) + "z";
            x += run;
        }
    }
    svg += "\"/></svg>\n";
    return svg;
}

std::optional<std::string> qr_terminal(std::string_view text) {
    auto q = encode(text);
    if (!q) return std::nullopt;
    int const w = q->width;
    int const size = w + 2 * quiet;
    auto dark = [&](int x, int y) {
        x -= quiet;
        y -= quiet;
        return x >= 0 && y >= 0 && x < w && y < w && (q->data[y * w + x] & 1);
    };
    // Light background drawn with blocks too, so it scans on dark terminals.
    std::string out;
    for (int y = 0; y < size; y += 2) {
        for (int x = 0; x < size; ++x) {
            bool const top = dark(x, y), bottom = y + 1 < size && dark(x, y + 1);
            if (top && bottom)
                out += " ";
            else if (top)
                out += "\u2584";  // lower half light
            else if (bottom)
                out += "\u2580";  // upper half light
            else
                out += "\u2588";
        }
        out += "\n";
    }
    return out;
}

}  // namespace roomcast::pairing

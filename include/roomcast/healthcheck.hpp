#pragma once

#include <roomcast/config.hpp>

namespace roomcast {

/**
 * `roomcast --healthcheck`: GET /healthz from the server this configuration describes (on
 * 127.0.0.1 when it listens on all addresses), with a 3 s deadline. Returns the exit status:
 * 0 when it answered 200, 1 otherwise. Lets a container HEALTHCHECK run without a shell or curl.
 */
int run_healthcheck(config const& cfg);

}  // namespace roomcast

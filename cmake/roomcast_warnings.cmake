# roomcast_enable_warnings(target): warnings per target, as spdlog's utils.cmake does.
# -Wnon-virtual-dtor is left out: it fires on every boost::system::error_category subclass.
# -Wnull-dereference is left out: at -O2 it fires inside Boost.Asio and libstdc++ headers.
function(roomcast_enable_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wcast-align -Wunused
      -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough>
    $<$<AND:$<BOOL:${ROOMCAST_WERROR}>,$<CXX_COMPILER_ID:GNU,Clang>>:-Werror>)
endfunction()

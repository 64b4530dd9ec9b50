# ROOMCAST_SANITIZE: "" (none), "address" (ASan+UBSan) or "thread" (TSan). Applied to every
# target of this project through a directory-wide option set before the targets are made, so the
# library, the executable and the tests agree.
set(ROOMCAST_SANITIZE "" CACHE STRING "Sanitizers: '', 'address' (ASan+UBSan), 'thread', or 'fuzzer' (clang)")
if(ROOMCAST_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(ROOMCAST_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(ROOMCAST_SANITIZE STREQUAL "fuzzer")
  # Every object instrumented for coverage; the fuzz targets add -fsanitize=fuzzer (main).
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(NOT ROOMCAST_SANITIZE STREQUAL "")
  message(FATAL_ERROR "ROOMCAST_SANITIZE must be '', 'address' or 'thread'")
endif()

# Warnings are errors in our own code; third-party headers are included as system headers.
add_library(faultline_warnings INTERFACE)
target_compile_options(faultline_warnings INTERFACE -Wall -Wextra -Werror -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 reports false positives for std::string concatenation (GCC bug 105329).
  target_compile_options(faultline_warnings INTERFACE -Wno-restrict)
endif()

if(FAULTLINE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  # The sanitizers' instrumentation makes GCC 12 report "may be used uninitialized" inside
  # libstdc++ (std::regex, std::function); GCC documents these as expected false positives.
  # At -O1 (scripts/build.sh asan) GCC 12 also inlines Asio's coroutine frame allocator
  # far enough to see its recycling operator new paired with the sized operator delete of the
  # frame's base and reports -Wmismatched-new-delete; both are Asio's own matched pair.
  target_compile_options(faultline_warnings INTERFACE -Wno-maybe-uninitialized
                                                      -Wno-mismatched-new-delete)
endif()

if(FAULTLINE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "FAULTLINE_FUZZ needs clang (CC=clang CXX=clang++)")
  endif()
  # Coverage for libFuzzer in every library, and the sanitizers that turn bugs into crashes.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

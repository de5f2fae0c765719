# Warnings are errors in our own code; third-party headers are included as system headers.
add_library(faultline_warnings INTERFACE)
target_compile_options(faultline_warnings INTERFACE -Wall -Wextra -Werror -Wno-missing-field-initializers
  # GCC 12 reports false positives for std::string concatenation (GCC bug 105329).
  -Wno-restrict)

if(FAULTLINE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  # The sanitizers' instrumentation makes GCC 12 report "may be used uninitialized" inside
  # libstdc++ (std::regex, std::function); GCC documents these as expected false positives.
  target_compile_options(faultline_warnings INTERFACE -Wno-maybe-uninitialized)
endif()

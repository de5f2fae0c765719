# Every dependency comes from a Debian bookworm package (see scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(simdjson REQUIRED)
find_package(ZLIB REQUIRED)
find_package(prometheus-cpp REQUIRED COMPONENTS core pull)
find_package(PkgConfig REQUIRED)
pkg_check_modules(URING REQUIRED IMPORTED_TARGET liburing)

# Standalone Asio is header-only.
find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
add_library(faultline_asio INTERFACE)
target_include_directories(faultline_asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
# ASIO_DISABLE_STD_ALIGNED_ALLOC: Asio decides between aligned_alloc/free and
# operator new/delete from a libstdc++ macro that is only defined once some standard header
# has been included, so translation units that include Asio first would pair them
# differently (an ODR violation ASan reports as alloc-dealloc-mismatch). One choice for all.
target_compile_definitions(faultline_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED
                                                    ASIO_DISABLE_STD_ALIGNED_ALLOC)
target_link_libraries(faultline_asio INTERFACE Threads::Threads)

# llhttp: Debian's node-llhttp ships the C sources; we build them as a static library.
set(LLHTTP_SRC_DIR /usr/share/llhttp CACHE PATH "llhttp C sources")
set(LLHTTP_INCLUDE_DIR /usr/share/include/llhttp CACHE PATH "llhttp header")
if(NOT EXISTS ${LLHTTP_SRC_DIR}/llhttp.c)
  message(FATAL_ERROR "llhttp sources not found in ${LLHTTP_SRC_DIR} (install node-llhttp)")
endif()
add_library(llhttp STATIC ${LLHTTP_SRC_DIR}/api.c ${LLHTTP_SRC_DIR}/http.c ${LLHTTP_SRC_DIR}/llhttp.c)
target_include_directories(llhttp SYSTEM PUBLIC ${LLHTTP_INCLUDE_DIR})
set_target_properties(llhttp PROPERTIES POSITION_INDEPENDENT_CODE ON C_STANDARD 99)
target_compile_options(llhttp PRIVATE -w)

# Asio picks its reactor at compile time. Code that touches Asio is compiled twice: once
# with the io_uring backend and once with epoll. Each copy renames Asio's namespace and
# ours (FAULTLINE_BACKEND_NS) and its two extern "C" functions, so both live in one binary
# without clashing, and main()
# picks one at run time.
function(faultline_backend_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  foreach(backend uring epoll)
    set(target ${name}_${backend})
    add_library(${target} STATIC ${ARG_SOURCES})
    target_link_libraries(${target} PUBLIC faultline_asio ${ARG_LIBS} PRIVATE faultline_warnings)
    target_compile_definitions(${target} PRIVATE asio=faultline_asio_${backend}
                                                 asio_signal_handler=faultline_asio_signal_handler_${backend}
                                                 asio_detail_posix_thread_function=faultline_asio_thread_function_${backend}
                                                FAULTLINE_BACKEND_NS=${backend})
    if(backend STREQUAL "uring")
      target_compile_definitions(${target} PRIVATE ASIO_HAS_IO_URING ASIO_DISABLE_EPOLL)
      target_compile_options(${target} PRIVATE
                             -include ${PROJECT_SOURCE_DIR}/common/asio_uring_fixes.h)
      target_link_libraries(${target} PUBLIC PkgConfig::URING)
    endif()
  endforeach()
endfunction()

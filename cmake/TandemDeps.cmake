# Every third-party dependency, found once (see ../shared/DEPS.md for why each
# is found this way). Only the adapter modules link the heavy ones.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(simdjson CONFIG REQUIRED)
find_package(zstd CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(RocksDB CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
if(TANDEM_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(TANDEM_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()
# hnswlib is header-only and ships no CMake or pkg-config file.
find_path(HNSWLIB_INCLUDE_DIR hnswlib/hnswlib.h REQUIRED)
add_library(tandem_hnswlib INTERFACE)
target_include_directories(tandem_hnswlib SYSTEM INTERFACE ${HNSWLIB_INCLUDE_DIR})
# cpp-httplib: the shared library; its pkg-config Cflags carry the CPPHTTPLIB_*
# defines it was built with (never use it header-only).
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)

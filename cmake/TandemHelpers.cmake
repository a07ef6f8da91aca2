# Warning and sanitizer flags, applied per target (never via CMAKE_CXX_FLAGS).
add_library(tandem_flags INTERFACE)
target_compile_options(tandem_flags INTERFACE -Wall -Wextra -Wno-unused-parameter)
if(TANDEM_WERROR)
  target_compile_options(tandem_flags INTERFACE -Werror)
endif()
if(TANDEM_SANITIZE)
  target_compile_options(tandem_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                                -fno-sanitize-recover=undefined)
  target_link_options(tandem_flags INTERFACE -fsanitize=address,undefined)
endif()
if(TANDEM_TSAN)
  target_compile_options(tandem_flags INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(tandem_flags INTERFACE -fsanitize=thread)
endif()
target_include_directories(tandem_flags INTERFACE ${PROJECT_SOURCE_DIR}/include
                                                  ${PROJECT_SOURCE_DIR}/src)

# tandem_module(NAME SOURCES a.cc b.cc DEPS tandem_x other::lib)
# Defines the static library tandem_<NAME>.
function(tandem_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(tandem_${name} STATIC ${M_SOURCES})
  target_link_libraries(tandem_${name} PUBLIC tandem_flags ${M_DEPS})
endfunction()

# tandem_test(NAME SOURCES x_test.cc DEPS tandem_x LABELS unit [TIMEOUT s])
# One GoogleTest executable; each TEST becomes a ctest test with the labels.
function(tandem_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE tandem_flags ${T_DEPS} GTest::gtest GTest::gmock
                                        GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST
                       PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT})
endfunction()

# Log facade and subscription tests (the storage layer's are in storage_tests.cmake).
tandem_test(log_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/log_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/subscription_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/dispatcher_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/history_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/subscription_start_test.cc
  DEPS tandem_log tandem_env
  LABELS unit)

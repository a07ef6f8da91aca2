# The log's storage layer: record batches, indexes, dedup, partitions.
tandem_test(log_storage_test
  SOURCES
    ${CMAKE_CURRENT_SOURCE_DIR}/record_batch_test.cc
    ${CMAKE_CURRENT_SOURCE_DIR}/partition_test.cc
    ${CMAKE_CURRENT_SOURCE_DIR}/partition_recovery_test.cc
    ${CMAKE_CURRENT_SOURCE_DIR}/partition_fault_test.cc
  DEPS tandem_log tandem_env
  LABELS unit)
target_include_directories(log_storage_test PRIVATE ${PROJECT_SOURCE_DIR}/tests)

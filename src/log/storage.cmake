# Record batches, segments, indexes and partitions (the log's storage layer).
list(APPEND LOG_STORAGE_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/record_batch.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/offset_index.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/dedup_index.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/segment.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/partition.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/partition_recovery.cc)

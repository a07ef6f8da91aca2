# The Log facade, topics and subscriptions (see README.md). Included by
# CMakeLists.txt next to storage.cmake; lists only files that exist.
set(LOG_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/ack_tracker.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/key_shared_dispatcher.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/log_impl.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/position_store.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/subscription.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/topic.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/verify.cc)

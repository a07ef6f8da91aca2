# bus_bench: one workload through the embedded log, Redis Streams (a
# redis-server it starts) and the Kafka bus on librdkafka's mock cluster (the
# kafka_mock process of tests/kafka, started by the bench; without it the
# Kafka row reports why it did not run).
if(TARGET tandem_bus)
  add_executable(bus_bench bus_bench.cc)
  target_include_directories(bus_bench PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(bus_bench PRIVATE tandem_flags tandem_bus tandem_env Threads::Threads)
  if(TARGET kafka_mock)
    target_compile_definitions(bus_bench PRIVATE TANDEM_KAFKA_MOCK="$<TARGET_FILE:kafka_mock>")
    add_dependencies(bus_bench kafka_mock)
  endif()
endif()

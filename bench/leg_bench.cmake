if(TARGET tandem_leg AND TARGET tandem_ingest)
  add_executable(graph_leg_bench graph_leg_bench.cc)
  target_link_libraries(graph_leg_bench PRIVATE tandem_flags tandem_leg tandem_ingest tandem_graph
                                                tandem_log tandem_event tandem_env RocksDB::rocksdb-shared
                                                Threads::Threads)
endif()

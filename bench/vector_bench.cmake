if(TARGET tandem_vector AND TARGET tandem_gen)
  add_executable(vector_bench vector_bench.cc)
  target_link_libraries(vector_bench PRIVATE tandem_flags tandem_vector tandem_gen tandem_ingest
                                             tandem_leg tandem_log tandem_event tandem_env
                                             tandem_hnswlib Threads::Threads)
endif()

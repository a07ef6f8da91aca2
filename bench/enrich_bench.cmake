if(TARGET tandem_enrich AND TARGET tandem_vector)
  add_executable(enrich_bench enrich_bench.cc)
  target_link_libraries(enrich_bench PRIVATE tandem_flags tandem_enrich tandem_vector tandem_ingest
                                             tandem_leg tandem_graph tandem_log tandem_event
                                             tandem_env Threads::Threads)
endif()

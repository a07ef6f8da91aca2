if(TARGET tandem_vector AND TARGET tandem_graph AND TARGET tandem_leg AND TARGET tandem_gen)
  add_executable(dualwrite_bench dualwrite_bench.cc)
  target_include_directories(dualwrite_bench PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(dualwrite_bench PRIVATE tandem_flags tandem_vector tandem_graph tandem_leg
                                                tandem_ingest tandem_gen tandem_log tandem_embed
                                                tandem_event tandem_env tandem_common
                                                Threads::Threads)
endif()

if(TARGET tandem_pggraph AND TARGET tandem_gen)
  add_executable(pggraph_bench pggraph_bench.cc)
  target_link_libraries(pggraph_bench PRIVATE tandem_flags tandem_pggraph tandem_graph tandem_gen
                                              tandem_store tandem_event tandem_env tandem_common
                                              Threads::Threads)
endif()

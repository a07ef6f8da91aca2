if(TARGET tandem_vindex)
  add_executable(vindex_bench vindex_bench.cc)
  target_link_libraries(vindex_bench PRIVATE tandem_flags tandem_vindex tandem_env tandem_hnswlib
                                             Threads::Threads)
endif()

if(TARGET tandem_embed AND TARGET tandem_gen)
  add_executable(embed_bench embed_bench.cc)
  target_link_libraries(embed_bench PRIVATE tandem_flags tandem_embed tandem_gen tandem_env
                                            PkgConfig::XXHASH)
endif()

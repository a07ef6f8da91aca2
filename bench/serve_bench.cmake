if(TARGET tandem_server AND TARGET tandem_config AND TARGET tandem_gen)
  add_executable(serve_bench serve_bench.cc)
  target_include_directories(serve_bench PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(serve_bench PRIVATE tandem_flags tandem_server tandem_config tandem_gen
                                            tandem_vector tandem_embed tandem_log tandem_ingest
                                            tandem_event tandem_env PkgConfig::HTTPLIB
                                            nlohmann_json::nlohmann_json Threads::Threads)
endif()

if(TARGET tandem_log AND TARGET tandem_env)
add_executable(log_append_bench log_append_bench.cc counting_fs.cc)
target_link_libraries(log_append_bench PRIVATE tandem_flags tandem_log tandem_env Threads::Threads)
endif()

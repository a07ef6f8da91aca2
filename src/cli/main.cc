// tandem: the command-line entry point.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/commands.h"

namespace tandem::cli {

int ExitCodeFor(const Status& s) {
  if (s.ok()) return 0;
  return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

}  // namespace tandem::cli

int main(int argc, char** argv) {
  CLI::App app{"tandem: one event log, every store in step"};
  app.require_subcommand(1);
  tandem::cli::Action action;
  app.add_subcommand("version", "Print the version")->callback([&action] {
    action = [] {
      std::printf("tandem %s\n", TANDEM_VERSION);
      return tandem::Status::OK();
    };
  });
  tandem::cli::RegisterInitCommand(app, &action);
  tandem::cli::RegisterLogCommands(app, &action);
  tandem::cli::RegisterGenerateCommand(app, &action);
#ifdef TANDEM_HAVE_SERVER
  tandem::cli::RegisterServeCommand(app, &action);
#endif
  CLI11_PARSE(app, argc, argv);
  if (!action) return 2;
  tandem::Status s = action();
  std::fflush(stdout);
  if (!s.ok()) std::fprintf(stderr, "tandem: %s\n", s.ToString().c_str());
  return tandem::cli::ExitCodeFor(s);
}

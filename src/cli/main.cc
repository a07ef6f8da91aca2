// tandem: the command-line entry point.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/commands.h"

namespace tandem::cli {

int ExitCodeFor(const Status& s) {
  if (s.ok()) return kExitOk;
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return kExitUsage;
    case StatusCode::kUnavailable:
      return kExitUnavailable;
    case StatusCode::kNotFound:
      return kExitNotFound;
    default:
      return kExitFailed;
  }
}

}  // namespace tandem::cli

int main(int argc, char** argv) {
  CLI::App app{"tandem: one event log, every store in step"};
  app.require_subcommand(1);
  app.footer(tandem::cli::ExitCodeTable());
  tandem::cli::Action action;
  int exit_code = 0;  // set by a client command whose failure means 3..6 (commands.h)
  app.add_subcommand("version", "Print the version")->callback([&action] {
    action = [] {
      std::printf("tandem %s\n", TANDEM_VERSION);
      return tandem::Status::OK();
    };
  });
  tandem::cli::RegisterInitCommand(app, &action);
  tandem::cli::RegisterLogCommands(app, &action);
  tandem::cli::RegisterGenerateCommand(app, &action, &exit_code);
  tandem::cli::RegisterClientCommands(app, &action, &exit_code);
  tandem::cli::RegisterEnrichCommand(app, &action, &exit_code);
  tandem::cli::RegisterAuditCommand(app, &action, &exit_code);
  tandem::cli::RegisterReplayCommand(app, &action, &exit_code);
#ifdef TANDEM_HAVE_SERVER
  tandem::cli::RegisterServeCommand(app, &action);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : tandem::cli::kExitUsage;  // --help: 0; any usage error: 2
  }
  if (!action) return 2;
  tandem::Status s = action();
  std::fflush(stdout);
  if (!s.ok()) std::fprintf(stderr, "tandem: %s\n", s.ToString().c_str());
  return exit_code != 0 ? exit_code : tandem::cli::ExitCodeFor(s);
}

// The tandem command tree. Each family registers its subcommands on the root
// CLI11 app and records which one runs; main() runs it and maps the Status to
// an exit code.
//
// Thread safety: single-threaded setup.
#pragma once

#include <functional>

#include "tandem/status.h"

namespace CLI {
class App;
}

namespace tandem::cli {

// Exit code for a failed command: 2 for bad usage, 1 otherwise.
int ExitCodeFor(const Status& s);

// The action chosen by the parsed command line.
using Action = std::function<Status()>;

// `tandem log append|read|stats|verify`.
void RegisterLogCommands(CLI::App& app, Action* action);

// `tandem init`.
void RegisterInitCommand(CLI::App& app, Action* action);

// `tandem generate` (synthetic banking data, src/gen/banking.h).
void RegisterGenerateCommand(CLI::App& app, Action* action);

// `tandem serve` (built when src/server is: TANDEM_HAVE_SERVER).
void RegisterServeCommand(CLI::App& app, Action* action);

}  // namespace tandem::cli

// `tandem init`: writes the commented example configuration and creates the
// data directory it names, so that `tandem serve --config tandem.yaml` runs.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "tandem/config.h"
#include "tandem/env.h"

namespace tandem::cli {
namespace {

struct InitFlags {
  std::string config = "tandem.yaml";
  bool force = false;
};

Status RunInit(const InitFlags& f) {
  std::unique_ptr<FileSystem> fs = NewPosixFileSystem();
  std::error_code ec;
  if (std::filesystem::exists(f.config, ec) && !f.force) {
    return Status::AlreadyExists(f.config + ": exists; pass --force to overwrite it");
  }
  const std::string yaml = ExampleConfigYaml();
  // Validated before anything is written (the environment may override keys).
  TANDEM_ASSIGN_OR_RETURN(Config c, ParseConfig(yaml, EnvironmentOverrides(), f.config));
  const std::filesystem::path parent = std::filesystem::path(f.config).parent_path();
  if (!parent.empty()) TANDEM_RETURN_IF_ERROR(fs->CreateDirs(parent.string()));
  TANDEM_RETURN_IF_ERROR(WriteFileAtomically(*fs, f.config, yaml));
  TANDEM_RETURN_IF_ERROR(fs->CreateDirs(c.data_dir));
  std::printf("wrote %s (every key at its default, commented)\n", f.config.c_str());
  std::printf("created %s/ (log, graph and vector stores go here)\n", c.data_dir.c_str());
  std::printf("next: tandem serve --config %s\n", f.config.c_str());
  return Status::OK();
}

}  // namespace

void RegisterInitCommand(CLI::App& app, Action* action) {
  auto flags = std::make_shared<InitFlags>();
  CLI::App* init = app.add_subcommand(
      "init", "Write a commented tandem.yaml (all defaults) and create its data directory");
  init->add_option("--config", flags->config, "Config file to write")->capture_default_str();
  init->add_flag("--force", flags->force, "Overwrite an existing config file");
  init->callback([flags, action] { *action = [flags] { return RunInit(*flags); }; });
}

}  // namespace tandem::cli

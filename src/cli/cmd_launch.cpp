// prealign launch: the local ranks of a data-parallel run, started as torchrun
// would start them (src/dist/launcher.hpp; docs/scale.md).
#include <cstdlib>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "dist/launcher.hpp"

namespace prealign {

void register_launch_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("launch", "start the local ranks of a data-parallel run (torchrun's environment): "
                                           "prealign launch --nproc 2 -- train ...");
  auto options = std::make_shared<LaunchOptions>();
  add_options(*cmd, *options);
  cmd->add_option("command", options->command, "the command every rank runs, after --, e.g. -- train --data d --out r")
      ->required();
  cmd->callback([options] {
    // Every rank is this same binary; the launcher's exit status is the failed rank's.
    const int status = launch(*options, "/proc/self/exe");
    if (status != 0) std::exit(status);
  });
}

}  // namespace prealign

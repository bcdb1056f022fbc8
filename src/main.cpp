// prealign: label a corpus with behaviour tags, train with them as control
// tokens, and decode under a tag policy that reports temptation.
// Each subcommand is in src/cli/cmd_<name>.cpp.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/help_format.hpp"
#include "core/error.hpp"
#include "model/matmul.hpp"
#include "model/runtime.hpp"

int main(int argc, char** argv) {
  prealign::reexec_with_thread_policy_if_needed(argc, argv);
  prealign::keep_freed_memory_for_reuse();
  CLI::App app{"prealign: alignment during pretraining (conditional training with behaviour tags)"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every subcommand");
  app.formatter(std::make_shared<prealign::HelpFormatter>());  // before the subcommands, which copy it
  int threads = 0;
  std::string matmul = prealign::matmul_backend();
  app.add_option("--threads", threads, "CPU threads for tensor math (0 = all cores)");
  app.add_option("--matmul", matmul, "CPU matmul kernels: onednn or torch (libtorch's BLAS path)")->capture_default_str();
  app.parse_complete_callback([&] {
    prealign::configure_threads(threads);
    prealign::set_matmul_backend(matmul);
  });

  prealign::register_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const prealign::Error& e) {
    std::fprintf(stderr, "prealign: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "prealign: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}

// prealign serve: a checkpoint behind an OpenAI-compatible HTTP API, decoding
// under its policy with per-token temptation (src/serve/server.hpp).
#include <unistd.h>

#include <csignal>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "core/config.hpp"
#include "core/progress.hpp"
#include "serve/server.hpp"

namespace prealign {

namespace {
Server* g_server = nullptr;
volatile std::sig_atomic_t g_signals = 0;

// The first SIGINT/SIGTERM stops accepting and lets requests in flight finish;
// a second one exits at once (a long generation or a stuck client must not
// make the server unkillable short of SIGKILL).
void on_signal(int sig) {
  if (g_signals++ > 0) {
    static const char msg[] = "prealign serve: second signal, exiting now\n";
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(128 + sig);
  }
  static const char msg[] = "prealign serve: stopping (finishing requests in flight; signal again to exit now)\n";
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
  if (g_server) g_server->stop();
}
}  // namespace

void register_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve",
                                 "serve a checkpoint over an OpenAI-compatible HTTP API (/v1/completions, "
                                 "/v1/chat/completions, /v1/models, /health, /metrics) with temptation per token");
  auto options = std::make_shared<ServeOptions>();
  add_options(*cmd, *options);
  accept_shipped(*cmd, "--policy", ShippedKind::policy, {"none"});
  cmd->get_option("--api-key")->envname("PREALIGN_API_KEY");
  cmd->callback([options] {
    json shown = config_to_json(*options);
    if (!options->api_key.empty()) shown["api_key"] = "(set, not shown)";  // keys never reach a log
    note("serve: options " + shown.dump());
    Server server(*options);
    const int port = server.bind();
    g_server = &server;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::printf("prealign serve: listening on http://%s:%d/ (Ctrl-C to stop)\n", options->host.c_str(), port);
    std::fflush(stdout);
    server.run();
    g_server = nullptr;
  });
}

}  // namespace prealign
